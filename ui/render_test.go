package ui

import (
	"image"
	"testing"

	"cutout/engine/ycc"
)

// TestBoxReduce: every output is the rounded mean of its k×k block (narrower at the right and
// bottom edges), for grey, RGB and RGBA pixels.
func TestBoxReduce(t *testing.T) {
	for _, ch := range []int{1, 3, 4} {
		sw, sh, k := 11, 7, 3
		src := make([]uint8, sw*sh*ch)
		for i := range src {
			src[i] = uint8(i*37 + i/5)
		}
		out, bw, bh := boxReduce(func(y int, _ []uint8) []uint8 { return src[y*sw*ch : (y+1)*sw*ch] }, sw, sh, ch, k)
		if bw != 4 || bh != 3 {
			t.Fatalf("ch %d: %d×%d, want 4×3", ch, bw, bh)
		}
		for by := 0; by < bh; by++ {
			for bx := 0; bx < bw; bx++ {
				for c := 0; c < ch; c++ {
					var sum, n int
					for y := by * k; y < min((by+1)*k, sh); y++ {
						for x := bx * k; x < min((bx+1)*k, sw); x++ {
							sum += int(src[(y*sw+x)*ch+c])
							n++
						}
					}
					if got, want := out[(by*bw+bx)*ch+c], uint8((sum+n/2)/n); got != want {
						t.Fatalf("ch %d block (%d,%d) channel %d = %d, want %d", ch, bx, by, c, got, want)
					}
				}
			}
		}
	}
}

// TestDisplayCopyFromYCbCr: a JPEG's Y′CbCr gives the display copy that its NRGBA conversion
// gives, to within one level (its blocks are averaged before they are converted; below twice
// the display size it is converted first), for 4:2:0, 4:4:4 and 4:2:2 at odd sizes.
func TestDisplayCopyFromYCbCr(t *testing.T) {
	for _, tc := range []struct {
		w, h  int
		ratio image.YCbCrSubsampleRatio
	}{{2901, 1777, image.YCbCrSubsampleRatio420}, {1500, 999, image.YCbCrSubsampleRatio444}, {3001, 41, image.YCbCrSubsampleRatio422}} {
		m := image.NewYCbCr(image.Rect(0, 0, tc.w, tc.h), tc.ratio)
		seed := uint32(tc.w)
		for p, plane := range [][]uint8{m.Y, m.Cb, m.Cr} {
			for i := range plane {
				seed = seed*1664525 + 1013904223
				v := uint8(seed>>24)/4 + uint8(i%97) // some structure, some noise
				if p == 0 {
					plane[i] = 40 + v%176 // in the RGB gamut, where averaging commutes with converting
				} else {
					plane[i] = 108 + v%41
				}
			}
		}
		mask := image.NewGray(m.Rect)
		got := newDisplayCopy(m, mask, displaySide)
		want := newDisplayCopy(ycc.ToNRGBA(m), mask, displaySide)
		if got.img.Rect != want.img.Rect || got.scale != want.scale {
			t.Fatalf("%d×%d %v: display copy %v at %v from Y′CbCr, %v at %v from NRGBA", tc.w, tc.h, tc.ratio,
				got.img.Rect, got.scale, want.img.Rect, want.scale)
		}
		for i := range got.img.Pix {
			if d := int(got.img.Pix[i]) - int(want.img.Pix[i]); d < -1 || d > 1 {
				t.Fatalf("%d×%d %v: byte %d is %d from Y′CbCr, %d from NRGBA", tc.w, tc.h, tc.ratio, i, got.img.Pix[i], want.img.Pix[i])
			}
		}
		if got.mask.Rect != got.img.Rect {
			t.Fatalf("%d×%d: mask %v, image %v", tc.w, tc.h, got.mask.Rect, got.img.Rect)
		}
	}
	// Whole 3×3 blocks reach 1280 and keep 967 px: blocks alone, scale exactly 1/3. Below
	// three quarters of 1280 with whole blocks (1500 px: 750), the area filter makes 1280.
	for _, c := range []struct {
		w, h  int
		size  image.Point
		scale float64
	}{{2901, 1777, image.Pt(967, 593), 1.0 / 3}, {1500, 999, image.Pt(1280, 852), 1280.0 / 1500}} {
		img := image.NewNRGBA(image.Rect(0, 0, c.w, c.h))
		d := newDisplayCopy(img, image.NewGray(img.Rect), displaySide)
		if d.img.Rect.Size() != c.size || d.scale != c.scale {
			t.Errorf("%d×%d: display copy %v at scale %v, want %v at %v", c.w, c.h, d.img.Rect.Size(), d.scale, c.size, c.scale)
		}
	}
}
