package validate

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/image/tiff"
)

// tinyTileBomb is the TIFF found to cost 24 s: 10000 × 10000 grey in
// 1.56 million 8 × 8 Deflate tiles, all pointing at one 64-byte tile (12 MB).
var tinyTileBomb = sync.OnceValue(func() []byte {
	return tiffBlocks(10000, 10000, 8, 8, 8, deflated(make([]byte, 64)))
})

func TestTIFFBlockCap(t *testing.T) {
	for _, c := range []struct {
		name   string
		data   func() []byte
		lim    Limits
		want   error
		says   string
		decode bool // also decode it, to show validation and decoder agree
	}{
		{name: "1.56 million 8 × 8 tiles", data: tinyTileBomb, want: ErrTooComplex,
			says: "would take too long to decode: it is cut into 1562500 tiles, each decompressed on its own, and the limit is 65536"},
		{name: "256 × 256 tiles at the pixel cap", data: func() []byte {
			return tiffBlocks(10000, 10000, 256, 256, 8, deflated(make([]byte, 256*256)))
		}},
		{name: "32 × 32 tiles, 65536 of them", data: func() []byte {
			return tiffBlocks(8192, 8192, 32, 32, 5, tiffLZWZeros(32*32))
		}},
		{name: "32 × 32 tiles, 65792 of them", data: func() []byte {
			return tiffBlocks(8192, 8224, 32, 32, 1, make([]byte, 32*32))
		}, want: ErrTooComplex, says: "65792 tiles"},
		{name: "one-row strips at the height cap", data: func() []byte {
			return tiffBlocks(6100, 16384, 0, 1, 8, deflated(make([]byte, 6100)))
		}},
		{name: "one-row strips over a raised height cap", lim: Limits{MaxHeight: 70000}, data: func() []byte {
			return tiffBlocks(1, 70000, 0, 1, 1, []byte{0})
		}, want: ErrTooComplex, says: "70000 strips"},
		{name: "4 × 4 tiles", data: func() []byte { return tiffBlocks(64, 64, 4, 4, 1, make([]byte, 16)) },
			want: ErrCorrupt, says: "the TIFF tiles are 4 × 4 pixels", decode: true},
		{name: "16 × 16 PackBits tiles", data: func() []byte { return tiffBlocks(64, 48, 16, 16, 32773, []byte{0x81, 0, 0x81, 0}) },
			decode: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := c.data()
			start := time.Now()
			_, err := Bytes("tiles.tif", data, c.lim)
			if d := time.Since(start); d > time.Second {
				t.Errorf("validating %d bytes took %v", len(data), d)
			}
			if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if err != nil {
				checkFuzzError(t, "tiles.tif", err)
				if !strings.Contains(err.Error(), c.says) {
					t.Errorf("%q does not say %q", err, c.says)
				}
			}
			if c.decode {
				if _, derr := tiff.Decode(bytes.NewReader(data)); (derr == nil) != (err == nil) {
					t.Errorf("validation says %v, the decoder %v", err, derr)
				}
			}
		})
	}
}
