package ycc

import (
	"bytes"
	"image"
	"testing"

	"github.com/disintegration/imaging"
)

// randomYCbCr is a w×h image of ratio r with pseudo-random planes.
func randomYCbCr(w, h int, r image.YCbCrSubsampleRatio) *image.YCbCr {
	m := image.NewYCbCr(image.Rect(0, 0, w, h), r)
	seed := uint32(r)*7919 + uint32(w)
	for _, plane := range [][]uint8{m.Y, m.Cb, m.Cr} {
		for i := range plane {
			seed = seed*1664525 + 1013904223
			plane[i] = uint8(seed >> 24)
		}
	}
	return m
}

// TestToNRGBAEveryRatio: the conversion gives exactly image/color's colours for every
// subsampling ratio, at sizes that leave partial chroma blocks.
func TestToNRGBAEveryRatio(t *testing.T) {
	for r := image.YCbCrSubsampleRatio444; r <= image.YCbCrSubsampleRatio410; r++ {
		for _, size := range [][2]int{{37, 23}, {1, 1}, {64, 48}} {
			m := randomYCbCr(size[0], size[1], r)
			if !bytes.Equal(ToNRGBA(m).Pix, imaging.Clone(m).Pix) {
				t.Fatalf("ratio %v, %v: ToNRGBA differs from image/color's conversion", r, size)
			}
		}
	}
	// Not Usable (origin elsewhere): still converted, the slow way.
	sub := randomYCbCr(20, 10, image.YCbCrSubsampleRatio420).SubImage(image.Rect(3, 2, 15, 9)).(*image.YCbCr)
	if !bytes.Equal(ToNRGBA(sub).Pix, imaging.Clone(sub).Pix) {
		t.Fatal("a sub-image converts differently from image/color")
	}
}

// TestRowsMatchToNRGBA: any run of any row, read through Rows, is exactly that run of
// ToNRGBA's image, and nothing outside the run is written — for every ratio and odd sizes.
func TestRowsMatchToNRGBA(t *testing.T) {
	for r := image.YCbCrSubsampleRatio444; r <= image.YCbCrSubsampleRatio410; r++ {
		for _, size := range [][2]int{{37, 23}, {1, 1}, {5, 3}} {
			w, h := size[0], size[1]
			m := randomYCbCr(w, h, r)
			want := ToNRGBA(m)
			rows := Rows(m)
			for y := 0; y < h; y++ {
				for _, span := range [][2]int{{0, w}, {w / 3, w - w/4}, {w - 1, w}, {w / 2, w / 2}} {
					x0, x1 := span[0], span[1]
					dst := bytes.Repeat([]byte{7}, 4*w)
					rows(y, x0, x1, dst)
					row := want.Pix[y*want.Stride : y*want.Stride+4*w]
					if !bytes.Equal(dst[4*x0:4*x1], row[4*x0:4*x1]) {
						t.Fatalf("ratio %v, %dx%d, row %d [%d,%d): differs from ToNRGBA", r, w, h, y, x0, x1)
					}
					if bytes.Count(dst[:4*x0], []byte{7}) != 4*x0 || bytes.Count(dst[4*x1:], []byte{7}) != 4*(w-x1) {
						t.Fatalf("ratio %v, %dx%d, row %d [%d,%d): wrote outside the run", r, w, h, y, x0, x1)
					}
				}
			}
		}
	}
}
