package matte

import (
	"image"
	"math"

	"cutout/internal/parallel"
)

// Pixel access and resampling shared by the stages. Internally every stage works on tight
// slices (stride = width, origin at index 0); outputs keep the bounds of their inputs.

// grayPix returns g's pixels as a tight w*h slice (g's own memory when it is already tight).
func grayPix(g *image.Gray) ([]uint8, int, int) {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	if g.Stride == w {
		return g.Pix[:w*h], w, h
	}
	p := make([]uint8, w*h)
	for y := range h {
		copy(p[y*w:(y+1)*w], g.Pix[y*g.Stride:])
	}
	return p, w, h
}

// nrgbaPix returns img's pixels as a tight 4*w*h slice (img's own memory when already tight).
func nrgbaPix(img *image.NRGBA) ([]uint8, int, int) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	if img.Stride == 4*w {
		return img.Pix[:4*w*h], w, h
	}
	p := make([]uint8, 4*w*h)
	for y := range h {
		copy(p[y*4*w:(y+1)*4*w], img.Pix[y*img.Stride:])
	}
	return p, w, h
}

// newGray wraps a tight w*h slice as a Gray image with bounds r.
func newGray(r image.Rectangle, pix []uint8) *image.Gray {
	return &image.Gray{Pix: pix, Stride: r.Dx(), Rect: r}
}

// workingSize returns the size whose longer side is at most base, keeping the aspect ratio.
func workingSize(w, h, base int) (int, int) {
	long := max(w, h)
	if long <= base {
		return w, h
	}
	s := float64(base) / float64(long)
	return max(1, int(math.Round(float64(w)*s))), max(1, int(math.Round(float64(h)*s)))
}

// tap is one source sample of a resampling filter.
type tap struct {
	i int32
	w float32
}

// areaTaps returns, for each of the m output cells covering n input cells (m <= n), the input
// cells it overlaps and their weights (exact area averaging, so pixel centres stay aligned).
func areaTaps(n, m int) [][]tap {
	s := float64(n) / float64(m)
	out := make([][]tap, m)
	for i := range m {
		a, b := float64(i)*s, float64(i+1)*s
		for j := int(a); j < n && float64(j) < b; j++ {
			ov := math.Min(b, float64(j+1)) - math.Max(a, float64(j))
			if ov > 1e-9 {
				out[i] = append(out[i], tap{int32(j), float32(ov / s)})
			}
		}
	}
	return out
}

// downsample area-averages a tight interleaved image of c channels from w×h to ww×wh.
func downsample(src []float32, c, w, h, ww, wh int) []float32 {
	tx, ty := areaTaps(w, ww), areaTaps(h, wh)
	tmp := make([]float32, c*ww*h)
	parallel.For(h, func(lo, hi int) {
		for y := lo; y < hi; y++ {
			row, out := src[c*w*y:c*w*(y+1)], tmp[c*ww*y:c*ww*(y+1)]
			for x, taps := range tx {
				for k := range c {
					var s float32
					for _, t := range taps {
						s += t.w * row[c*int(t.i)+k]
					}
					out[c*x+k] = s
				}
			}
		}
	})
	dst := make([]float32, c*ww*wh)
	parallel.For(wh, func(lo, hi int) {
		for y := lo; y < hi; y++ {
			out := dst[c*ww*y : c*ww*(y+1)]
			for _, t := range ty[y] {
				row := tmp[c*ww*int(t.i) : c*ww*(int(t.i)+1)]
				for i := range out {
					out[i] += t.w * row[i]
				}
			}
		}
	})
	return dst
}

// rgbFloat converts tight NRGBA pixels to interleaved RGB in [0,1].
func rgbFloat(pix []uint8, n int) []float32 {
	out := make([]float32, 3*n)
	parallel.For(n, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			out[3*i] = float32(pix[4*i]) / 255
			out[3*i+1] = float32(pix[4*i+1]) / 255
			out[3*i+2] = float32(pix[4*i+2]) / 255
		}
	})
	return out
}

// grayFloat converts tight grey pixels to [0,1].
func grayFloat(pix []uint8) []float32 {
	out := make([]float32, len(pix))
	parallel.For(len(pix), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			out[i] = float32(pix[i]) / 255
		}
	})
	return out
}

// reduceTrimap shrinks a trimap to ww×wh: a working pixel is certain only when every full-size
// pixel it touches is certain and of the same kind, so the working unknown band covers the
// full-size one.
func reduceTrimap(tri []uint8, w, h, ww, wh int) []uint8 {
	if w == ww && h == wh {
		return tri
	}
	cover := func(n, m, i int) (int, int) {
		a := i * n / m
		b := ((i+1)*n + m - 1) / m
		return a, max(b, a+1)
	}
	out := make([]uint8, ww*wh)
	parallel.For(wh, func(lo, hi int) {
		for y := lo; y < hi; y++ {
			y0, y1 := cover(h, wh, y)
			for x := range ww {
				x0, x1 := cover(w, ww, x)
				mn, mx := uint8(255), uint8(0)
				for yy := y0; yy < y1; yy++ {
					for _, v := range tri[yy*w+x0 : yy*w+x1] {
						mn, mx = min(mn, v), max(mx, v)
					}
				}
				switch {
				case mn == 255:
					out[y*ww+x] = 255
				case mx == 0:
					out[y*ww+x] = 0
				default:
					out[y*ww+x] = 128
				}
			}
		}
	})
	return out
}

// linTaps returns, for each of the m outputs, the two inputs of n around its centre and the
// weight of the second (bilinear with pixel centres aligned, clamped at the borders).
func linTaps(n, m int) (i0, i1 []int32, f []float32) {
	i0, i1, f = make([]int32, m), make([]int32, m), make([]float32, m)
	s := float64(n) / float64(m)
	for x := range m {
		p := (float64(x)+0.5)*s - 0.5
		switch {
		case p <= 0:
			i0[x], i1[x] = 0, 0
		case p >= float64(n-1):
			i0[x], i1[x] = int32(n-1), int32(n-1)
		default:
			j := int(p)
			i0[x], i1[x], f[x] = int32(j), int32(j+1), float32(p-float64(j))
		}
	}
	return i0, i1, f
}

// upsample resizes a tight single-channel plane from ww×wh to w×h bilinearly and calls put
// with each output index and value.
func upsample(src []float32, ww, wh, w, h int, put func(i int, v float32)) {
	x0, x1, fx := linTaps(ww, w)
	y0, y1, fy := linTaps(wh, h)
	parallel.For(h, func(lo, hi int) {
		for y := lo; y < hi; y++ {
			a := src[int(y0[y])*ww : int(y0[y]+1)*ww]
			b := src[int(y1[y])*ww : int(y1[y]+1)*ww]
			for x := range w {
				top := a[x0[x]] + (a[x1[x]]-a[x0[x]])*fx[x]
				bot := b[x0[x]] + (b[x1[x]]-b[x0[x]])*fx[x]
				put(y*w+x, top+(bot-top)*fy[y])
			}
		}
	})
}

// to8 converts a value in [0,1] to 0..255, clamping and mapping NaN to 0.
func to8(v float32) uint8 {
	if !(v > 0) {
		return 0
	}
	if v >= 1 {
		return 255
	}
	return uint8(v*255 + 0.5)
}
