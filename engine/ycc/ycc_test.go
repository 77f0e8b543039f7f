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

// blockMeans is the reference reduction: every pixel converted, then the rounded mean of
// each k×k block's colours.
func blockMeans(m *image.YCbCr, k int) *image.NRGBA {
	src := ToNRGBA(m)
	w, h := src.Rect.Dx(), src.Rect.Dy()
	out := image.NewNRGBA(image.Rect(0, 0, (w+k-1)/k, (h+k-1)/k))
	for by := 0; by < out.Rect.Dy(); by++ {
		for bx := 0; bx < out.Rect.Dx(); bx++ {
			var sum [4]int
			n := 0
			for y := by * k; y < min((by+1)*k, h); y++ {
				for x := bx * k; x < min((bx+1)*k, w); x++ {
					for c := range 4 {
						sum[c] += int(src.Pix[y*src.Stride+4*x+c])
					}
					n++
				}
			}
			for c := range 4 {
				out.Pix[by*out.Stride+4*bx+c] = uint8((sum[c] + n/2) / n)
			}
		}
	}
	return out
}

// TestBlocks: blocks of one colour (in or out of the gamut) give exactly image/color's
// colour; in-gamut pixels give the mean of the converted colours to within one level — for
// every ratio, block sizes 2–5 and sizes that leave partial blocks.
func TestBlocks(t *testing.T) {
	for r := image.YCbCrSubsampleRatio444; r <= image.YCbCrSubsampleRatio410; r++ {
		hs, half := shifts(r)
		for _, size := range [][2]int{{37, 23}, {1, 1}, {64, 48}, {203, 9}} {
			w, h := size[0], size[1]
			// One random colour per 4×4 block: 4 covers every ratio's chroma sample.
			m := image.NewYCbCr(image.Rect(0, 0, w, h), r)
			colour := func(x, y, c int) uint8 {
				v := uint32(x/4*7919+y/4*104729+c*31) * 2654435761
				return uint8(v >> 24)
			}
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					m.Y[m.YOffset(x, y)] = colour(x, y, 0)
				}
			}
			for cy := 0; cy*m.CStride < len(m.Cb); cy++ {
				for cx := 0; cx < m.CStride; cx++ {
					y := cy
					if half {
						y *= 2
					}
					m.Cb[cy*m.CStride+cx], m.Cr[cy*m.CStride+cx] = colour(cx<<hs, y, 1), colour(cx<<hs, y, 2)
				}
			}
			got, want := Blocks(m, 4), blockMeans(m, 4)
			if got.Rect != want.Rect || !bytes.Equal(got.Pix, want.Pix) {
				t.Fatalf("ratio %v, %dx%d, blocks of one colour: differ from image/color's colours", r, w, h)
			}
			// In the gamut: Y′ 40–215, chroma within 20 of neutral.
			m = randomYCbCr(w, h, r)
			for i := range m.Y {
				m.Y[i] = 40 + m.Y[i]%176
			}
			for i := range m.Cb {
				m.Cb[i], m.Cr[i] = 108+m.Cb[i]%41, 108+m.Cr[i]%41
			}
			for k := 2; k <= 5; k++ {
				got, want := Blocks(m, k), blockMeans(m, k)
				if got.Rect != want.Rect {
					t.Fatalf("ratio %v, %dx%d, k %d: %v, want %v", r, w, h, k, got.Rect, want.Rect)
				}
				for i := range got.Pix {
					if d := int(got.Pix[i]) - int(want.Pix[i]); d < -1 || d > 1 {
						t.Fatalf("ratio %v, %dx%d, k %d: byte %d = %d, mean of the colours %d", r, w, h, k, i, got.Pix[i], want.Pix[i])
					}
				}
			}
		}
	}
}

func BenchmarkBlocks12MP(b *testing.B) {
	m := randomYCbCr(4000, 3000, image.YCbCrSubsampleRatio420)
	for b.Loop() {
		Blocks(m, 4)
	}
}
