package validate

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/image/bmp"
)

// bmpIndexed builds a bottom-up w × h BMP of bpp ≤ 8 bits a pixel with a
// palette of the given number of colours (written as biClrUsed) and the
// pixel indices index(x, y) returns (nil: all 0); padding bytes at the end
// of each row are pad.
func bmpIndexed(w, h, bpp, colours int, pad byte, index func(x, y int) int) []byte {
	rowBytes := (w*bpp + 31) / 32 * 4
	offset := 14 + 40 + 4*colours
	le := binary.LittleEndian
	out := []byte("BM")
	out = le.AppendUint32(out, uint32(offset+rowBytes*h))
	out = le.AppendUint32(out, 0)
	out = le.AppendUint32(out, uint32(offset))
	out = le.AppendUint32(out, 40)
	out = le.AppendUint32(out, uint32(w))
	out = le.AppendUint32(out, uint32(h))
	out = le.AppendUint16(out, 1)
	out = le.AppendUint16(out, uint16(bpp))
	out = le.AppendUint32(out, 0) // BI_RGB
	out = le.AppendUint32(out, uint32(rowBytes*h))
	out = le.AppendUint32(out, 2835)
	out = le.AppendUint32(out, 2835)
	out = le.AppendUint32(out, uint32(colours))
	out = le.AppendUint32(out, 0)
	for i := range colours {
		out = append(out, byte(i*40), byte(i*80), byte(i*120), 0)
	}
	if index == nil && pad == 0 {
		return append(out, make([]byte, rowBytes*h)...)
	}
	for y := h - 1; y >= 0; y-- {
		row := bytes.Repeat([]byte{pad}, rowBytes)
		clear(row[:(w*bpp+7)/8])
		for x := range w {
			bit := x * bpp
			row[bit/8] |= byte(index(x, y)) << (8 - bpp - bit%8)
		}
		out = append(out, row...)
	}
	return out
}

func TestBMPPaletteIndices(t *testing.T) {
	at := func(px, py, v int) func(x, y int) int {
		return func(x, y int) int {
			if x == px && y == py {
				return v
			}
			return (x + y) % 2
		}
	}
	for _, c := range []struct {
		name string
		data []byte
		says string // "": accepted
	}{
		{"8-bit, 2 colours, in range", bmpIndexed(21, 9, 8, 2, 0, at(-1, -1, 0)), ""},
		{"8-bit, 2 colours, one pixel uses colour 5", bmpIndexed(21, 9, 8, 2, 0, at(20, 8, 5)), "a pixel uses colour 5 of a 2-colour palette"},
		{"4-bit, 3 colours, last pixel of an odd row uses colour 7", bmpIndexed(21, 9, 4, 3, 0, at(20, 0, 7)), "colour 7 of a 3-colour palette"},
		{"4-bit, 3 colours, row padding is not pixels", bmpIndexed(21, 9, 4, 3, 0xff, at(-1, -1, 0)), ""},
		{"2-bit, 3 colours, colour 3", bmpIndexed(13, 5, 2, 3, 0, at(6, 2, 3)), "colour 3 of a 3-colour palette"},
		{"1-bit, 1 colour, colour 1", bmpIndexed(9, 3, 1, 1, 0, func(x, y int) int { return x / 8 }), "colour 1 of a 1-colour palette"},
		{"8-bit, full palette", bmpIndexed(5, 5, 8, 256, 0, func(x, y int) int { return 255 }), ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Bytes("p.bmp", c.data, Limits{})
			_, derr := bmp.Decode(bytes.NewReader(c.data))
			if c.says == "" {
				if err != nil || derr != nil {
					t.Fatalf("validation %v, decoder %v", err, derr)
				}
				return
			}
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("got %v, want ErrCorrupt saying %q", err, c.says)
			}
			checkFuzzError(t, "p.bmp", err)
			if derr == nil {
				t.Errorf("validation refuses it, but x/image/bmp decodes it")
			}
		})
	}
}

// TestBMPIndexScanIsCheap: the index check reads every pixel byte of a
// 100-megapixel 1-bit BMP with a 1-colour palette (12.5 MB) quickly.
func TestBMPIndexScanIsCheap(t *testing.T) {
	data := bmpIndexed(10000, 10000, 1, 1, 0, nil)
	start := time.Now()
	if _, err := Bytes("big.bmp", data, Limits{}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("validating took %v", d)
	}
}
