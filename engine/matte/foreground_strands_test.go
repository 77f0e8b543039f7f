package matte

import (
	"image"
	"math"
	"testing"
)

// strandsOverPink is a synthetic hair edge with an exact matte, laid out like the green-haired
// troll of alphamatting.com's GT04 beside its pink neighbour: an opaque green crown along the
// bottom of the right half, sparse thin green strands rising from it (about 2 px wide, 24 px
// apart, alpha fading from 0.25 at the crown to 0.03 at the top), an opaque salmon block in
// the top left (a face, another troll) closer to the strands' tips than their crown is, and a
// mottled pink background between. It returns the image, the matte and the strand pixels.
func strandsOverPink(w, h int) (*image.NRGBA, *image.Gray, []bool) {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	a := image.NewGray(img.Rect)
	strand := make([]bool, w*h)
	crown := h * 7 / 8
	for y := range h {
		for x := range w {
			i := y*w + x
			face := x < w*45/100 && y < h*6/10
			al := 0.0
			switch {
			case face || (y >= crown && x >= w/2):
				al = 1
			case x >= w/2:
				t := float64(crown-y) / float64(crown) // 0 at the crown, 1 at the top
				cx := float64(x) - 10*t*math.Sin(float64(x)/31) - 3*math.Sin(float64(y)/11)
				if d := math.Abs(math.Mod(cx+2400, 24) - 12); d < 1 {
					al = (0.25 - 0.22*t) * (1 - 0.5*d)
					strand[i] = true
				}
			}
			a.Pix[i] = uint8(math.Round(255 * al))
			al = float64(a.Pix[i]) / 255
			// Blotches from orange-red to purple-pink, a few pixels across: no single colour
			// to subtract.
			tex := 40 * math.Sin(float64(x)*0.45+2*math.Sin(float64(y)*0.21)) * math.Cos(float64(y)*0.37-float64(x)*0.13)
			bg := [3]float64{215 + tex, 110 - 0.6*tex, 130}
			fg := [3]float64{95, 190 + 20*math.Sin(float64(y)/17), 55}
			if face {
				fg = [3]float64{235, 150, 105}
			}
			for c := range 3 {
				img.Pix[4*i+c] = uint8(math.Round(min(255, max(0, al*fg[c]+(1-al)*bg[c]))))
			}
			img.Pix[4*i+3] = 255
		}
	}
	return img, a, strand
}

// On faint strands the compositing equation fixes F only up to the background's error divided
// by alpha, so F has to come from somewhere else: from the hair the strands grow from, not from
// the salmon block that is nearer across the background, nor from the pink behind them.
func TestEstimateForegroundKeepsThinStrandsGreen(t *testing.T) {
	img, a, strand := strandsOverPink(240, 200)
	fg := EstimateForeground(img, a)
	n, red := 0, 0
	for i, s := range strand {
		if !s || a.Pix[i] == 0 || a.Pix[i] == 255 {
			continue
		}
		n++
		if int(fg.Pix[4*i]) > int(fg.Pix[4*i+1])+20 {
			red++
		}
	}
	frac := float64(red) / float64(n)
	t.Logf("%d of %d semi-transparent strand pixels red (%.1f %%)", red, n, 100*frac)
	if n < 1000 {
		t.Fatalf("fixture has only %d strand pixels", n)
	}
	if frac > 0.05 {
		t.Errorf("%.1f %% of the strand pixels turned red (red > green + 20); want at most 5 %%", 100*frac)
	}
}

// Strands that no opaque part reaches through the matte keep the method's own estimate: the
// attaching pull fades across the background, so a block of another colour beside them does
// not paint them.
func TestEstimateForegroundDetachedStrands(t *testing.T) {
	img, a, strand := strandsOverPink(240, 200)
	w, h := 240, 200
	// Cut the crown away: the strands now float.
	for y := h * 7 / 8; y < h; y++ {
		for x := w / 2; x < w; x++ {
			i := y*w + x
			a.Pix[i] = 0
			copy(img.Pix[4*i:4*i+3], []uint8{215, 110, 130})
		}
	}
	pix, _, _ := nrgbaPix(img)
	src, gap := attachedColours(a.Pix, w, h)
	for i, s := range strand {
		if s && a.Pix[i] > 0 && src[i] >= 0 && gap[i] < 8 {
			t.Fatalf("strand pixel %d attached to %d (colour %v) across only %.1f px of background", i, src[i], pix[4*src[i]:4*src[i]+3], gap[i])
		}
	}
}
