package matte

import (
	"fmt"
	"image"
	"math"

	"cutout/internal/parallel"
)

// guidedMaxLow caps the pixel count at which the guided filter computes its coefficients, which
// bounds its memory (17 float32 planes) on large photos.
const guidedMaxLow = 1 << 20

// GuidedFilter smooths src while following the edges of the colour image guide: He, Sun and
// Tang's guided filter ("Guided Image Filtering", 2013) with a 3×3 colour covariance per window
// of radius radius and regularisation eps (in squared [0,1] intensity units), built from O(N)
// box filters. For radius >= 8, or images over a megapixel, the linear coefficients are computed
// on a copy subsampled by s = max(radius/4, …) and upsampled bilinearly before they are applied
// to the full-resolution guide (He and Sun's "fast guided filter"), which keeps it at a few tens
// of milliseconds per megapixel with no visible loss on mattes. guide and src must have the same
// size (it panics otherwise); the result has src's bounds.
func GuidedFilter(guide *image.NRGBA, src *image.Gray, radius int, eps float64) *image.Gray {
	if guide.Rect.Size() != src.Rect.Size() {
		panic(fmt.Sprintf("matte.GuidedFilter: guide is %v but src is %v", guide.Rect.Size(), src.Rect.Size()))
	}
	gp, w, h := nrgbaPix(guide)
	sp, _, _ := grayPix(src)
	if radius < 1 || w*h == 0 {
		return newGray(src.Rect, append([]uint8(nil), sp...))
	}
	eps = max(eps, 1e-8)
	s := max(1, radius/4)
	if n := w * h; n > guidedMaxLow {
		s = max(s, int(math.Ceil(math.Sqrt(float64(n)/guidedMaxLow))))
	}
	wl, hl := (w+s-1)/s, (h+s-1)/s
	rl := max(1, int(math.Round(float64(radius)/float64(s))))
	a := guidedCoefficients(blockMean(gp, sp, w, h, s), wl, hl, rl, eps)
	out := make([]uint8, w*h)
	applyCoefficients(a, gp, wl, hl, w, h, s, out)
	return newGray(src.Rect, out)
}

// blockMean averages s×s blocks of the guide (RGB) and the source into four planes of
// ceil(w/s)×ceil(h/s), in [0,1].
func blockMean(gp, sp []uint8, w, h, s int) [4][]float32 {
	wl, hl := (w+s-1)/s, (h+s-1)/s
	var out [4][]float32
	for c := range out {
		out[c] = make([]float32, wl*hl)
	}
	parallel.For(hl, func(lo, hi int) {
		acc := make([]float32, 4*wl)
		for Y := lo; Y < hi; Y++ {
			clear(acc)
			y0, y1 := Y*s, min((Y+1)*s, h)
			for y := y0; y < y1; y++ {
				g, m := gp[4*w*y:4*w*(y+1)], sp[w*y:w*(y+1)]
				for x := range w {
					X := 4 * (x / s)
					acc[X] += float32(g[4*x])
					acc[X+1] += float32(g[4*x+1])
					acc[X+2] += float32(g[4*x+2])
					acc[X+3] += float32(m[x])
				}
			}
			for X := range wl {
				n := float32((min((X+1)*s, w) - X*s) * (y1 - y0))
				for c := range 4 {
					out[c][Y*wl+X] = acc[4*X+c] / (255 * n)
				}
			}
		}
	})
	return out
}

// guidedCoefficients returns the box-filtered linear coefficients (a_r, a_g, a_b, b) of the
// guided filter on w×h planes I_r, I_g, I_b, p.
func guidedCoefficients(in [4][]float32, w, h, r int, eps float64) [4][]float32 {
	n := w * h
	// Means of I (3), p, I Iᵀ (6) and I p (3).
	var m [13][]float32
	copy(m[:4], in[:])
	for k := 4; k < 13; k++ {
		m[k] = make([]float32, n)
	}
	parallel.For(n, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			r, g, b, p := m[0][i], m[1][i], m[2][i], m[3][i]
			m[4][i], m[5][i], m[6][i] = r*r, r*g, r*b
			m[7][i], m[8][i], m[9][i] = g*g, g*b, b*b
			m[10][i], m[11][i], m[12][i] = r*p, g*p, b*p
		}
	})
	tmp := make([]float32, n)
	for k := range m {
		boxMean(m[k], m[k], tmp, w, h, r)
	}
	var ab [4][]float32
	for k := range ab {
		ab[k] = m[k] // reuse the mean planes of I and p, read before written below
	}
	parallel.For(n, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			mr, mg, mb, mp := float64(m[0][i]), float64(m[1][i]), float64(m[2][i]), float64(m[3][i])
			c := [6]float64{
				float64(m[4][i]) - mr*mr + eps, float64(m[5][i]) - mr*mg, float64(m[6][i]) - mr*mb,
				float64(m[7][i]) - mg*mg + eps, float64(m[8][i]) - mg*mb, float64(m[9][i]) - mb*mb + eps,
			}
			vr, vg, vb := float64(m[10][i])-mr*mp, float64(m[11][i])-mg*mp, float64(m[12][i])-mb*mp
			inv := invSym3(c)
			ar := inv[0]*vr + inv[1]*vg + inv[2]*vb
			ag := inv[1]*vr + inv[3]*vg + inv[4]*vb
			abl := inv[2]*vr + inv[4]*vg + inv[5]*vb
			ab[0][i], ab[1][i], ab[2][i] = float32(ar), float32(ag), float32(abl)
			ab[3][i] = float32(mp - ar*mr - ag*mg - abl*mb)
		}
	})
	for k := range ab {
		boxMean(ab[k], ab[k], tmp, w, h, r)
	}
	return ab
}

// applyCoefficients upsamples the coefficients (wl×hl, block size s) bilinearly and writes
// q = a·I + b for every full-size pixel.
func applyCoefficients(ab [4][]float32, gp []uint8, wl, hl, w, h, s int, out []uint8) {
	pos := func(n, nl int) ([]int32, []int32, []float32) {
		i0, i1, f := make([]int32, n), make([]int32, n), make([]float32, n)
		for x := range n {
			u := (float64(x)+0.5)/float64(s) - 0.5
			switch {
			case u <= 0:
			case u >= float64(nl-1):
				i0[x], i1[x] = int32(nl-1), int32(nl-1)
			default:
				j := int(u)
				i0[x], i1[x], f[x] = int32(j), int32(j+1), float32(u-float64(j))
			}
		}
		return i0, i1, f
	}
	x0, x1, fx := pos(w, wl)
	y0, y1, fy := pos(h, hl)
	parallel.For(h, func(lo, hi int) {
		for y := lo; y < hi; y++ {
			r0, r1, f := int(y0[y])*wl, int(y1[y])*wl, fy[y]
			g := gp[4*w*y : 4*w*(y+1)]
			for x := range w {
				a0, a1, t := int(x0[x]), int(x1[x]), fx[x]
				var c [4]float32
				for k, p := range ab {
					top := p[r0+a0] + (p[r0+a1]-p[r0+a0])*t
					bot := p[r1+a0] + (p[r1+a1]-p[r1+a0])*t
					c[k] = top + (bot-top)*f
				}
				q := (c[0]*float32(g[4*x])+c[1]*float32(g[4*x+1])+c[2]*float32(g[4*x+2]))/255 + c[3]
				out[y*w+x] = to8(q)
			}
		}
	})
}

// boxMean writes to dst the mean of src over the (2r+1)² window clipped to the image; tmp is
// scratch of the same size and dst may be src. Running sums are kept in float64 so that long
// rows do not drift (variances are small differences of such means).
func boxMean(src, dst, tmp []float32, w, h, r int) {
	parallel.For(h, func(lo, hi int) {
		for y := lo; y < hi; y++ {
			row, out := src[y*w:(y+1)*w], tmp[y*w:(y+1)*w]
			var acc float64
			for x := 0; x < min(r, w); x++ {
				acc += float64(row[x])
			}
			for x := range w {
				if x+r < w {
					acc += float64(row[x+r])
				}
				if x-r-1 >= 0 {
					acc -= float64(row[x-r-1])
				}
				out[x] = float32(acc / float64(min(x+r, w-1)-max(x-r, 0)+1))
			}
		}
	})
	const cb = 64
	parallel.For((w+cb-1)/cb, func(lo, hi int) {
		x0, x1 := lo*cb, min(hi*cb, w)
		acc := make([]float64, x1-x0)
		for y := 0; y < min(r, h); y++ {
			for i, v := range tmp[y*w+x0 : y*w+x1] {
				acc[i] += float64(v)
			}
		}
		for y := range h {
			if y+r < h {
				for i, v := range tmp[(y+r)*w+x0 : (y+r)*w+x1] {
					acc[i] += float64(v)
				}
			}
			if y-r-1 >= 0 {
				for i, v := range tmp[(y-r-1)*w+x0 : (y-r-1)*w+x1] {
					acc[i] -= float64(v)
				}
			}
			k := 1 / float64(min(y+r, h-1)-max(y-r, 0)+1)
			for i, v := range acc {
				dst[y*w+x0+i] = float32(v * k)
			}
		}
	})
}
