package infer

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"testing"
)

// withOrientation returns a JPEG of img carrying an EXIF orientation tag.
func withOrientation(t *testing.T, img image.Image, orientation uint16) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	// TIFF header (little endian), one IFD entry: 0x0112 Orientation, SHORT, count 1.
	var tiff bytes.Buffer
	tiff.WriteString("II*\x00")
	binary.Write(&tiff, binary.LittleEndian, uint32(8))
	binary.Write(&tiff, binary.LittleEndian, uint16(1))
	binary.Write(&tiff, binary.LittleEndian, []uint16{0x0112, 3})
	binary.Write(&tiff, binary.LittleEndian, uint32(1))
	binary.Write(&tiff, binary.LittleEndian, []uint16{orientation, 0})
	binary.Write(&tiff, binary.LittleEndian, uint32(0))
	payload := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	seg := []byte{0xFF, 0xE1, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}
	seg = append(seg, payload...)
	src := buf.Bytes()
	return append(append(append([]byte{}, src[:2]...), seg...), src[2:]...)
}

// TestDecodeAppliesEXIFOrientation: a 40×20 image, red on its left half, stored with
// orientation 6 ("rotate 90° clockwise to display") must decode as 20×40 with red on top;
// orientation 3 (180°) keeps the size and moves red to the right.
func TestDecodeAppliesEXIFOrientation(t *testing.T) {
	src := image.NewNRGBA(image.Rect(0, 0, 40, 20))
	for y := 0; y < 20; y++ {
		for x := 0; x < 40; x++ {
			c := color.NRGBA{0, 0, 255, 255}
			if x < 20 {
				c = color.NRGBA{255, 0, 0, 255}
			}
			src.SetNRGBA(x, y, c)
		}
	}
	isRed := func(img *image.NRGBA, x, y int) bool {
		c := img.NRGBAAt(x, y)
		return c.R > 200 && c.B < 60
	}
	for _, tc := range []struct {
		orientation  uint16
		w, h         int
		redX, redY   int
		blueX, blueY int
	}{
		{1, 40, 20, 5, 10, 35, 10},
		{3, 40, 20, 35, 10, 5, 10},
		{6, 20, 40, 10, 5, 10, 35},
		{8, 20, 40, 10, 35, 10, 5},
	} {
		img, err := Decode(withOrientation(t, src, tc.orientation))
		if err != nil {
			t.Fatal(err)
		}
		if img.Rect.Dx() != tc.w || img.Rect.Dy() != tc.h {
			t.Fatalf("orientation %d: decoded %v, want %d×%d", tc.orientation, img.Rect, tc.w, tc.h)
		}
		if !isRed(img, tc.redX, tc.redY) || isRed(img, tc.blueX, tc.blueY) {
			t.Errorf("orientation %d: red not at (%d,%d)", tc.orientation, tc.redX, tc.redY)
		}
	}
}

func TestDecodeRefusesGarbage(t *testing.T) {
	if _, err := Decode([]byte("\x89PNG\r\n\x1a\nnot really")); err == nil {
		t.Fatal("garbage decoded")
	}
}
