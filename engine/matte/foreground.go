package matte

import (
	"fmt"
	"image"
	"math"

	"cutout/internal/parallel"
)

// fgParams are the constants of the multi-level foreground estimation (pymatting's defaults).
type fgParams struct {
	reg       float32 // regularisation of the smoothness term
	gradW     float32 // extra smoothness where alpha changes
	smallIter int     // iterations on levels of at most smallSize × smallSize
	bigIter   int     // iterations on larger levels
	smallSize int
}

var defaultFG = fgParams{reg: 1e-5, gradW: 1, smallIter: 10, bigIter: 2, smallSize: 32}

// EstimateForeground estimates the colour of the foreground behind every pixel, so that
// semi-transparent edge pixels carry the object's colour instead of a mix with the old
// background: Germer, Uelwer, Conrad and Harmeling's multi-level method ("Fast Multi-Level
// Foreground Estimation", 2020), as pymatting's estimate_foreground_ml. It solves for F and B in
// I = αF + (1−α)B with a smoothness term weighted by the alpha gradient, coarse to fine
// (levels growing geometrically from 1×1), with red-black Gauss-Seidel sweeps so that each sweep
// runs in parallel. The result has img's bounds and is opaque; where alpha is 255 it is img.
// img and alpha must have the same size (it panics otherwise).
func EstimateForeground(img *image.NRGBA, alpha *image.Gray) *image.NRGBA {
	if img.Rect.Size() != alpha.Rect.Size() {
		panic(fmt.Sprintf("matte.EstimateForeground: image is %v but alpha is %v", img.Rect.Size(), alpha.Rect.Size()))
	}
	pix, w, h := nrgbaPix(img)
	ap, _, _ := grayPix(alpha)
	out := image.NewNRGBA(img.Rect)
	if w*h == 0 {
		return out
	}
	f := estimateFB(pix, ap, w, h, defaultFG)
	parallel.For(w*h, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			o := out.Pix[4*i : 4*i+4]
			if ap[i] == 255 {
				copy(o[:3], pix[4*i:4*i+3])
			} else {
				o[0], o[1], o[2] = to8(f[3*i]), to8(f[3*i+1]), to8(f[3*i+2])
			}
			o[3] = 255
		}
	})
	return out
}

// nearest maps each of m outputs to the input of n whose cell contains its centre.
func nearest(n, m int) []int32 {
	idx := make([]int32, m)
	for i := range m {
		idx[i] = int32(min(n-1, (2*i+1)*n/(2*m)))
	}
	return idx
}

// estimateFB returns the foreground F (interleaved RGB in [0,1]) for tight NRGBA pixels and
// alpha of w×h.
func estimateFB(pix, ap []uint8, w, h int, p fgParams) []float32 {
	levels := int(math.Ceil(math.Log2(float64(max(w, h)))))
	var f, b []float32
	pw, ph := 0, 0
	for l := 0; l <= levels; l++ {
		lw, lh := w, h
		if levels > 0 {
			lw = max(1, int(math.Round(math.Pow(float64(w), float64(l)/float64(levels)))))
			lh = max(1, int(math.Round(math.Pow(float64(h), float64(l)/float64(levels)))))
		}
		xs, ys := nearest(w, lw), nearest(h, lh)
		n := lw * lh
		img := make([]float32, 3*n)
		al := make([]float32, n)
		parallel.For(lh, func(lo, hi int) {
			for y := lo; y < hi; y++ {
				for x := range lw {
					i, j := y*lw+x, int(ys[y])*w+int(xs[x])
					img[3*i] = float32(pix[4*j]) / 255
					img[3*i+1] = float32(pix[4*j+1]) / 255
					img[3*i+2] = float32(pix[4*j+2]) / 255
					al[i] = float32(ap[j]) / 255
				}
			}
		})
		nf, nb := make([]float32, 3*n), make([]float32, 3*n)
		if f == nil {
			copy(nf, img)
			copy(nb, img)
		} else {
			px, py := nearest(pw, lw), nearest(ph, lh)
			parallel.For(lh, func(lo, hi int) {
				for y := lo; y < hi; y++ {
					for x := range lw {
						i, j := y*lw+x, int(py[y])*pw+int(px[x])
						copy(nf[3*i:3*i+3], f[3*j:3*j+3])
						copy(nb[3*i:3*i+3], b[3*j:3*j+3])
					}
				}
			})
		}
		f, b, pw, ph = nf, nb, lw, lh
		iters := p.bigIter
		if lw <= p.smallSize && lh <= p.smallSize {
			iters = p.smallIter
		}
		for range iters {
			for colour := range 2 {
				parallel.For(lh, func(lo, hi int) {
					for y := lo; y < hi; y++ {
						for x := (y + colour) & 1; x < lw; x += 2 {
							updateFB(f, b, img, al, lw, lh, x, y, p)
						}
					}
				})
			}
		}
	}
	return f
}

// updateFB solves the 2×2 system for F and B at (x, y) given its four neighbours.
func updateFB(f, b, img, al []float32, w, h, x, y int, p fgParams) {
	i := y*w + x
	a0 := al[i]
	a1 := 1 - a0
	a00, a01, a11 := a0*a0, a0*a1, a1*a1
	I := img[3*i : 3*i+3]
	b0 := [3]float32{a0 * I[0], a0 * I[1], a0 * I[2]}
	b1 := [3]float32{a1 * I[0], a1 * I[1], a1 * I[2]}
	nb := [4]int{y*w + max(x-1, 0), y*w + min(x+1, w-1), max(y-1, 0)*w + x, min(y+1, h-1)*w + x}
	for _, j := range nb {
		g := a0 - al[j]
		if g < 0 {
			g = -g
		}
		da := p.reg + p.gradW*g
		a00 += da
		a11 += da
		for c := range 3 {
			b0[c] += da * f[3*j+c]
			b1[c] += da * b[3*j+c]
		}
	}
	inv := 1 / (a00*a11 - a01*a01)
	for c := range 3 {
		fc := inv * (a11*b0[c] - a01*b1[c])
		bc := inv * (a00*b1[c] - a01*b0[c])
		f[3*i+c] = min(1, max(0, fc))
		b[3*i+c] = min(1, max(0, bc))
	}
}
