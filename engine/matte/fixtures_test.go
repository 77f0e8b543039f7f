package matte

import (
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"testing"
)

// blend is a synthetic image with an exact ground truth: I = αF + (1−α)B for flat colours F, B.
type blend struct {
	img   *image.NRGBA
	alpha []float64 // true alpha, tight
	tri   *image.Gray
	f, b  color.NRGBA
}

// rampBlend makes a w×h image whose alpha is 0 left of x0, 1 right of x1 and a smooth (cosine)
// ramp between, with the ramp's columns unknown in the trimap (plus margin px on each side).
// The ramp's position wobbles with y so that windows see a 2-D structure.
func rampBlend(tb testing.TB, w, h, x0, x1, margin int) blend {
	tb.Helper()
	f := color.NRGBA{R: 230, G: 190, B: 40, A: 255}
	b := color.NRGBA{R: 30, G: 70, B: 200, A: 255}
	bl := blend{img: image.NewNRGBA(image.Rect(0, 0, w, h)), alpha: make([]float64, w*h), f: f, b: b}
	tri := make([]uint8, w*h)
	for y := range h {
		off := 3 * math.Sin(float64(y)/7)
		for x := range w {
			t := (float64(x) - float64(x0) - off) / float64(x1-x0)
			a := 0.5 - 0.5*math.Cos(math.Pi*min(1, max(0, t)))
			i := y*w + x
			bl.alpha[i] = a
			p := bl.img.Pix[4*i : 4*i+4]
			p[0] = uint8(math.Round(a*float64(f.R) + (1-a)*float64(b.R)))
			p[1] = uint8(math.Round(a*float64(f.G) + (1-a)*float64(b.G)))
			p[2] = uint8(math.Round(a*float64(f.B) + (1-a)*float64(b.B)))
			p[3] = 255
			switch {
			case float64(x) < float64(x0)+off-float64(margin):
				tri[i] = TrimapBackground
			case float64(x) > float64(x1)+off+float64(margin):
				tri[i] = TrimapForeground
			default:
				tri[i] = TrimapUnknown
			}
		}
	}
	bl.tri = newGray(bl.img.Rect, tri)
	return bl
}

// randomImage makes a w×h image of noise and a mask of noise.
func randomImage(w, h int, seed uint64) (*image.NRGBA, *image.Gray) {
	r := rand.New(rand.NewPCG(seed, 1))
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(r.IntN(256))
	}
	m := image.NewGray(img.Rect)
	for i := range m.Pix {
		m.Pix[i] = uint8(r.IntN(256))
	}
	return img, m
}

// grayFrom builds a Gray image from rows of values.
func grayFrom(rows [][]uint8) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, len(rows[0]), len(rows)))
	for y, r := range rows {
		copy(g.Pix[y*g.Stride:], r)
	}
	return g
}

// meanAbs returns the mean |a/255 − want| over the pixels where sel is true (all when nil).
func meanAbs(a *image.Gray, want []float64, sel func(i int) bool) float64 {
	p, _, _ := grayPix(a)
	var s float64
	n := 0
	for i, v := range p {
		if sel == nil || sel(i) {
			s += math.Abs(float64(v)/255 - want[i])
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return s / float64(n)
}

// photoLike makes a w×h test image with a textured, smooth-edged disc over a textured
// background and the soft mask a model would give (the true alpha blurred), for benchmarks and
// pipeline tests.
func photoLike(w, h int) (*image.NRGBA, *image.Gray) {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	m := image.NewGray(img.Rect)
	cx, cy, rad := float64(w)/2, float64(h)/2, 0.35*float64(min(w, h))
	edge := max(2, float64(min(w, h))/100)
	for y := range h {
		for x := range w {
			d := math.Hypot(float64(x)-cx, float64(y)-cy) - rad
			a := min(1, max(0, 0.5-d/edge))
			// Hair-like stripes in the edge zone make the matte non-trivial.
			if d > -edge && d < 4*edge && (x/3+y/5)%4 == 0 {
				a = max(a, 0.6*(1-d/(4*edge)))
			}
			tx := 0.5 + 0.25*math.Sin(float64(x)/9)*math.Cos(float64(y)/13)
			fr, fg, fb := 200*tx+40, 120*tx+30, 60.0
			br, bg, bb := 40.0, 140*(1-tx)+60, 200*tx+40
			i := y*w + x
			img.Pix[4*i] = uint8(a*fr + (1-a)*br)
			img.Pix[4*i+1] = uint8(a*fg + (1-a)*bg)
			img.Pix[4*i+2] = uint8(a*fb + (1-a)*bb)
			img.Pix[4*i+3] = 255
			md := math.Hypot(float64(x)-cx, float64(y)-cy) - rad
			m.Pix[i] = uint8(255 * min(1, max(0, 0.5-md/(4*edge))))
		}
	}
	return img, m
}
