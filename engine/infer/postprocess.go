package infer

import (
	"image"
	"math"

	"cutout/internal/parallel"
)

// Mask turns the model's S×S prediction into a w×h 8-bit mask: min–max normalised as rembg
// does, then resized with bilinear interpolation (pixel centres aligned).
func Mask(pred []float32, side, w, h int) *image.Gray {
	lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
	for _, v := range pred {
		if v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
	}
	k := float32(0)
	if hi > lo {
		k = 255 / (hi - lo)
	}
	dst := image.NewGray(image.Rect(0, 0, w, h))
	sx := float32(side) / float32(w)
	sy := float32(side) / float32(h)
	x0, x1, fx := make([]int32, w), make([]int32, w), make([]float32, w)
	for x := 0; x < w; x++ {
		x0[x], x1[x], fx[x] = tap((float32(x)+0.5)*sx-0.5, side)
	}
	parallel.For(h, func(ylo, yhi int) {
		// Each source row is normalised and interpolated across (in 0..255 units) once into
		// a w-wide row, kept while the output rows under it need it (an upscale reads every
		// source row 2–3 times).
		a := make([]float32, side)
		across := func(r int32, row []float32) {
			for i, v := range pred[int(r)*side : int(r)*side+side] {
				a[i] = (v - lo) * k
			}
			for x := range row {
				row[x] = a[x0[x]] + (a[x1[x]]-a[x0[x]])*fx[x]
			}
		}
		top, bot := make([]float32, w), make([]float32, w)
		have0, have1 := int32(-1), int32(-1)
		for y := ylo; y < yhi; y++ {
			r0, r1, fy := tap((float32(y)+0.5)*sy-0.5, side)
			switch {
			case r0 == have0:
			case r0 == have1:
				top, bot = bot, top
				have0, have1 = have1, -1
			default:
				across(r0, top)
				have0 = r0
			}
			if r1 != have1 {
				if r1 == have0 {
					copy(bot, top)
				} else {
					across(r1, bot)
				}
				have1 = r1
			}
			out := dst.Pix[y*dst.Stride : y*dst.Stride+w]
			t, b := top[:len(out)], bot[:len(out)]
			for x := range out {
				out[x] = uint8(t[x] + (b[x]-t[x])*fy + 0.5)
			}
		}
	})
	return dst
}

// tap returns the two source indices around position p (clamped to [0,n)) and the weight of
// the second.
func tap(p float32, n int) (int32, int32, float32) {
	if p <= 0 {
		return 0, 0, 0
	}
	i := int32(p)
	f := p - float32(i)
	if int(i) >= n-1 {
		return int32(n - 1), int32(n - 1), 0
	}
	return i, i + 1, f
}
