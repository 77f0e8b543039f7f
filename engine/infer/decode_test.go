package infer

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"testing"

	"github.com/disintegration/imaging"
)

// withOrientation returns a JPEG of img carrying an EXIF orientation tag.
func withOrientation(t testing.TB, img image.Image, orientation uint16) []byte {
	t.Helper()
	// TIFF header (little endian), one IFD entry: 0x0112 Orientation, SHORT, count 1.
	var tiff bytes.Buffer
	tiff.WriteString("II*\x00")
	binary.Write(&tiff, binary.LittleEndian, uint32(8))
	binary.Write(&tiff, binary.LittleEndian, uint16(1))
	binary.Write(&tiff, binary.LittleEndian, []uint16{0x0112, 3})
	binary.Write(&tiff, binary.LittleEndian, uint32(1))
	binary.Write(&tiff, binary.LittleEndian, []uint16{orientation, 0})
	binary.Write(&tiff, binary.LittleEndian, uint32(0))
	return withExif(t, img, tiff.Bytes())
}

// withExif returns a JPEG of img with an APP1 "Exif" segment holding tiff right after its
// start marker.
func withExif(t testing.TB, img image.Image, tiff []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	payload := append([]byte("Exif\x00\x00"), tiff...)
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

// withOrientationBE is withOrientation with a big-endian ("MM") TIFF header and the
// orientation tag after another tag.
func withOrientationBE(t testing.TB, img image.Image, orientation uint16) []byte {
	t.Helper()
	var tiff bytes.Buffer
	tiff.WriteString("MM\x00*")
	binary.Write(&tiff, binary.BigEndian, uint32(8))
	binary.Write(&tiff, binary.BigEndian, uint16(2))
	binary.Write(&tiff, binary.BigEndian, []uint16{0x010F, 2}) // Make, ASCII, 4 bytes inline
	binary.Write(&tiff, binary.BigEndian, uint32(4))
	tiff.WriteString("Cam\x00")
	binary.Write(&tiff, binary.BigEndian, []uint16{0x0112, 3})
	binary.Write(&tiff, binary.BigEndian, uint32(1))
	binary.Write(&tiff, binary.BigEndian, []uint16{orientation, 0})
	binary.Write(&tiff, binary.BigEndian, uint32(0))
	return withExif(t, img, tiff.Bytes())
}

// TestOrientedJPEGStaysYCbCr: for every EXIF orientation and both byte orders, a (4:2:0)
// JPEG with even sides decodes to Y′CbCr turned upright whose colours are exactly those of
// imaging's upright NRGBA decode; turned with odd sides (the chroma cannot move with the luma)
// it comes back as that NRGBA.
func TestOrientedJPEGStaysYCbCr(t *testing.T) {
	for _, size := range [][2]int{{64, 48}, {37, 22}} {
		src := image.NewNRGBA(image.Rect(0, 0, size[0], size[1]))
		for i := range src.Pix {
			src.Pix[i] = uint8(i*7 + i/13)
		}
		for o := uint16(1); o <= 8; o++ {
			for _, make := range []func(testing.TB, image.Image, uint16) []byte{withOrientation, withOrientationBE} {
				data := make(t, src, o)
				if got := exifOrientation(data); got != int(o) {
					t.Fatalf("orientation %d read as %d", o, got)
				}
				want, err := imaging.Decode(bytes.NewReader(data), imaging.AutoOrientation(true))
				if err != nil {
					t.Fatal(err)
				}
				img, err := DecodeImage(data)
				if err != nil {
					t.Fatal(err)
				}
				y, isYCbCr := img.(*image.YCbCr)
				if even := size[0]%2 == 0 && size[1]%2 == 0; isYCbCr != (even || o == 1) {
					t.Fatalf("%v, orientation %d: decoded as %T", size, o, img)
				}
				if !bytes.Equal(toNRGBA(img).Pix, toNRGBA(want).Pix) || img.Bounds() != want.Bounds() {
					t.Fatalf("%v, orientation %d: differs from imaging's upright decode", size, o)
				}
				if isYCbCr && y.SubsampleRatio != image.YCbCrSubsampleRatio420 {
					t.Fatalf("orientation %d: ratio %v", o, y.SubsampleRatio)
				}
			}
		}
	}
	// Every ratio image/jpeg gives, turned each way, against turning the converted image.
	for r := image.YCbCrSubsampleRatio444; r <= image.YCbCrSubsampleRatio410; r++ {
		m := image.NewYCbCr(image.Rect(0, 0, 16, 8), r)
		for i := range m.Y {
			m.Y[i] = uint8(i * 5)
		}
		for i := range m.Cb {
			m.Cb[i], m.Cr[i] = uint8(100+i*3), uint8(90+i*7)
		}
		for o := 1; o <= 8; o++ {
			got, ok := orientYCbCr(m, o)
			transposes := o >= 5 && (r == image.YCbCrSubsampleRatio411 || r == image.YCbCrSubsampleRatio410)
			if ok == transposes {
				t.Fatalf("ratio %v, orientation %d: ok %v", r, o, ok)
			}
			if ok && !bytes.Equal(toNRGBA(got).Pix, orientNRGBA(toNRGBA(m), o).Pix) {
				t.Fatalf("ratio %v, orientation %d: differs from turning the converted image", r, o)
			}
		}
	}
}

// FuzzExifOrientation: no input makes the reader panic, and it only ever says 1–8.
func FuzzExifOrientation(f *testing.F) {
	img := image.NewNRGBA(image.Rect(0, 0, 8, 8))
	for o := uint16(1); o <= 8; o++ {
		f.Add(withOrientation(f, img, o)[:200])
		f.Add(withOrientationBE(f, img, o)[:200])
	}
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xE1, 0, 2})
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xFF, 0xFF})
	f.Fuzz(func(t *testing.T, data []byte) {
		if o := exifOrientation(data); o < 1 || o > 8 {
			t.Fatalf("orientation %d", o)
		}
	})
}
