package infer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"testing"

	// gobmp registers "bmp" with image.Decode's registry before
	// golang.org/x/image/bmp does, as it is in the app's binary, where a
	// Fyne dependency pulls it in.
	_ "github.com/jsummers/gobmp"
	"golang.org/x/image/bmp"

	"cutout/engine/validate"
)

// bmp8 builds a bottom-up 8-bit w × h BMP with a palette of the given number
// of colours, compression 0 (pixels: one byte each, rows padded to 4) or 1
// (RLE8: pixels holds the encoded stream).
func bmp8(w, h, colours int, compression uint32, pixels []byte) []byte {
	offset := 14 + 40 + 4*colours
	le := binary.LittleEndian
	out := []byte("BM")
	out = le.AppendUint32(out, uint32(offset+len(pixels)))
	out = le.AppendUint32(out, 0)
	out = le.AppendUint32(out, uint32(offset))
	for _, v := range []uint32{40, uint32(w), uint32(h)} {
		out = le.AppendUint32(out, v)
	}
	out = le.AppendUint16(out, 1)
	out = le.AppendUint16(out, 8)
	for _, v := range []uint32{compression, uint32(len(pixels)), 2835, 2835, uint32(colours), 0} {
		out = le.AppendUint32(out, v)
	}
	for i := range colours {
		out = append(out, byte(200*i), byte(100*i), byte(50*i), 0)
	}
	return append(out, pixels...)
}

// TestOneDecoderPerFormat: in a binary whose image.Decode picks gobmp for
// BMP, a BMP that gobmp decodes and x/image/bmp refuses (a pixel naming a
// colour the palette lacks; RLE compression) gets the same verdict from
// validation and from the engine's decoder, which is x/image/bmp's; and an
// ordinary BMP decodes to x/image/bmp's pixels.
func TestOneDecoderPerFormat(t *testing.T) {
	const w, h = 6, 2
	rows := []byte{0, 1, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 1, 0, 0, 0} // two rows of 6, padded to 8
	badRows := bytes.Clone(rows)
	badRows[3] = 5                        // colour 5 of a 2-colour palette
	rle := []byte{6, 1, 0, 0, 6, 0, 0, 1} // a row of colour 1, a row of colour 0, end of bitmap

	for _, c := range []struct {
		name string
		data []byte
		want error // validation's verdict, and so the decoder's
	}{
		{"palette index out of range", bmp8(w, h, 2, 0, badRows), validate.ErrCorrupt},
		{"RLE8", bmp8(w, h, 2, 1, rle), validate.ErrUnsupportedFormat},
		{"ordinary", bmp8(w, h, 2, 0, rows), nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, format, err := image.Decode(bytes.NewReader(c.data)); err != nil || format != "bmp" {
				t.Fatalf("the registry's BMP decoder gives %q, %v: gobmp is not the one it picks, so this test proves nothing", format, err)
			}
			_, verr := validate.Bytes("x.bmp", c.data, validate.Limits{})
			if !errors.Is(verr, c.want) || (verr == nil) != (c.want == nil) {
				t.Fatalf("validation: %v, want %v", verr, c.want)
			}
			img, derr := DecodeImage(c.data)
			if (derr == nil) != (verr == nil) {
				t.Fatalf("validation says %v but decoding says %v", verr, derr)
			}
			want, werr := bmp.Decode(bytes.NewReader(c.data))
			if (werr == nil) != (derr == nil) {
				t.Fatalf("x/image/bmp says %v, DecodeImage %v", werr, derr)
			}
			if derr == nil && !bytes.Equal(toNRGBA(img).Pix, toNRGBA(want).Pix) {
				t.Fatal("DecodeImage's pixels are not x/image/bmp's")
			}
		})
	}
}
