package matte

import (
	"fmt"
	"image"
	"math"

	"cutout/internal/parallel"
)

// fgParams are the constants of the multi-level foreground estimation: pymatting's defaults
// for the method itself, and the weight and reach of the pull towards attached colours.
type fgParams struct {
	reg       float32 // regularisation of the smoothness term
	gradW     float32 // extra smoothness where alpha changes
	smallIter int     // iterations on levels of at most smallSize × smallSize
	bigIter   int     // iterations on larger levels
	smallSize int
	// attach is the weight, times (1−α)⁴, of the pull of F towards the colour of the opaque
	// foreground the pixel is attached to through the matte (see attachedColours).
	attach float32
	// gapPx: that pull fades as exp(−gap/gapPx), gap being the pixels of zero alpha the
	// attaching path crosses, so strands that no opaque part reaches keep the plain estimate.
	gapPx float32
}

var defaultFG = fgParams{reg: 1e-5, gradW: 1, smallIter: 10, bigIter: 2, smallSize: 32, attach: 0.05, gapPx: 4}

// opaqueSeed is the alpha from which a pixel's colour counts as its foreground's.
const opaqueSeed = 242

// EstimateForeground estimates the colour of the foreground behind every pixel, so that
// semi-transparent edge pixels carry the object's colour instead of a mix with the old
// background: Germer, Uelwer, Conrad and Harmeling's multi-level method ("Fast Multi-Level
// Foreground Estimation", 2020), as pymatting's estimate_foreground_ml. It solves for F and B in
// I = αF + (1−α)B with a smoothness term weighted by the alpha gradient, coarse to fine
// (levels growing geometrically from 1×1), with red-black Gauss-Seidel sweeps so that each sweep
// runs in parallel.
//
// One term is added to the method's energy: λ(1−α)⁴·|F − A|² (λ = 0.05), where A is the
// colour of the opaque foreground the pixel is attached to through the matte. Where α is
// small the compositing equation fixes F only up to the errors of α and B divided by α, and
// the smoothness term ties F to neighbours whose F is just as free, background pixels
// included, while thin strands vanish from the coarse levels that start the solution. Without
// the term, the faint ends of hair take the colour of whatever opaque region is nearest at a
// coarse level (a neighbouring object, a face) or an extrapolation of the background's
// texture: on alphamatting.com's GT04, with its true alpha, 11 % of the green troll's
// semi-transparent hair turns red, 1.5 % with it. The pull decides only what the image
// cannot: it vanishes as α nears 1.
//
// The result has img's bounds and is opaque; where alpha is 255 it is img. img and alpha must
// have the same size (it panics otherwise).
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

// BlendForeground moves the colours of img towards its estimated foreground fg by strength
// (0 keeps img, 1 gives fg: Options.EdgeColourStrength) in a new opaque image with img's
// bounds. Opaque pixels are the same in both, so only the edges change. img and fg must have
// the same size (it panics otherwise).
func BlendForeground(img, fg *image.NRGBA, strength float64) *image.NRGBA {
	out := image.NewNRGBA(img.Rect)
	blendForeground(out, img, fg, strength)
	return out
}

// blendForeground is BlendForeground into out, a tight image of the same size, which may be
// fg itself.
func blendForeground(out, img, fg *image.NRGBA, strength float64) {
	if img.Rect.Size() != fg.Rect.Size() {
		panic(fmt.Sprintf("matte.BlendForeground: image is %v but foreground is %v", img.Rect.Size(), fg.Rect.Size()))
	}
	ip, w, h := nrgbaPix(img)
	fp, _, _ := nrgbaPix(fg)
	s := uint32(math.Round(min(1, max(0, strength)) * 256))
	parallel.For(w*h, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			for c := range 3 {
				a, b := uint32(ip[4*i+c]), uint32(fp[4*i+c])
				out.Pix[4*i+c] = uint8((a*(256-s) + b*s + 128) >> 8)
			}
			out.Pix[4*i+3] = 255
		}
	})
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
	src, fade := attachedColours(ap, w, h) // the gaps, made the pull's fading here
	parallel.For(w*h, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			switch g := fade[i]; {
			case g == 0:
				fade[i] = 1
			case g > 16*p.gapPx: // below 1e-7
				fade[i] = 0
			default:
				fade[i] = float32(math.Exp(float64(-g / p.gapPx)))
			}
		}
	})
	var weight [256]float32 // the attaching pull by alpha, before the gap's fading
	for a := range weight {
		weight[a] = p.attach * float32(math.Pow(1-float64(a)/255, 4))
	}
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
		att := make([]float32, 4*n) // attached colour and the weight of its pull
		parallel.For(lh, func(lo, hi int) {
			for y := lo; y < hi; y++ {
				for x := range lw {
					i, j := y*lw+x, int(ys[y])*w+int(xs[x])
					img[3*i] = float32(pix[4*j]) / 255
					img[3*i+1] = float32(pix[4*j+1]) / 255
					img[3*i+2] = float32(pix[4*j+2]) / 255
					al[i] = float32(ap[j]) / 255
					if s := src[j]; s >= 0 && fade[j] > 0 {
						att[4*i] = float32(pix[4*s]) / 255
						att[4*i+1] = float32(pix[4*s+1]) / 255
						att[4*i+2] = float32(pix[4*s+2]) / 255
						att[4*i+3] = weight[ap[j]] * fade[j]
					}
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
							updateFB(f, b, img, al, att, lw, lh, x, y, p)
						}
					}
				})
			}
		}
	}
	return f
}

// updateFB solves the 2×2 system for F and B at (x, y) given its four neighbours and the
// pull towards its attached colour.
func updateFB(f, b, img, al, att []float32, w, h, x, y int, p fgParams) {
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
	if k := att[4*i+3]; k > 0 {
		a00 += k
		for c := range 3 {
			b0[c] += k * att[4*i+c]
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

// attachedColours finds, for every pixel, the opaque pixel (alpha ≥ opaqueSeed) it is attached
// to: the one nearest along paths whose steps cost 1/α (255 px per pixel of zero alpha, about
// 1 through opaque ones), so a strand of hair leads back to its own head rather than across the
// background to whatever lies closer. It returns that pixel's index (−1 when the image has no
// opaque pixel) and the length of the path's steps through zero alpha. The distance is
// propagated by two forward and backward raster sweeps over the 8-neighbourhood (a chamfer
// transform); a path that turns back more often than the sweeps follow is measured longer than
// it is, which can attach a pixel to another seed, never to none.
func attachedColours(ap []uint8, w, h int) (src []int32, gap []float32) {
	n := w * h
	src = make([]int32, n)
	gap = make([]float32, n)
	dist := make([]float32, n)
	var cost [256]float32 // half the cost of a unit step into or out of a pixel of each alpha
	for a := range cost {
		cost[a] = 0.5 * 255 / float32(a+1)
	}
	inf := float32(math.Inf(1))
	seeded := false
	for i, a := range ap {
		if a >= opaqueSeed {
			src[i] = int32(i)
			seeded = true
		} else {
			src[i], dist[i] = -1, inf
		}
	}
	if !seeded {
		return src, gap
	}
	// relax offers pixel i the path through its neighbour j, a step of the given length away.
	relax := func(i, j int, step float32) {
		if d := dist[j] + step*(cost[ap[i]]+cost[ap[j]]); d < dist[i] {
			dist[i], src[i], gap[i] = d, src[j], gap[j]
			if ap[i] == 0 {
				gap[i] += step
			}
		}
	}
	const diag = math.Sqrt2
	for range 2 {
		for y := range h {
			for x := range w {
				if i := y*w + x; ap[i] < opaqueSeed {
					if x > 0 {
						relax(i, i-1, 1)
					}
					if y > 0 {
						relax(i, i-w, 1)
						if x > 0 {
							relax(i, i-w-1, diag)
						}
						if x < w-1 {
							relax(i, i-w+1, diag)
						}
					}
				}
			}
		}
		for y := h - 1; y >= 0; y-- {
			for x := w - 1; x >= 0; x-- {
				if i := y*w + x; ap[i] < opaqueSeed {
					if x < w-1 {
						relax(i, i+1, 1)
					}
					if y < h-1 {
						relax(i, i+w, 1)
						if x < w-1 {
							relax(i, i+w+1, diag)
						}
						if x > 0 {
							relax(i, i+w-1, diag)
						}
					}
				}
			}
		}
	}
	return src, gap
}
