package ui

import (
	"image"
	"image/color"
	"testing"

	"cutout/engine/matte"
	"cutout/engine/ycc"
)

// BenchmarkPreview12MP measures what one slider move costs on a 12 MP photo: finishing the
// display copy (guided refinement, a shift and a feather, as a user would have them) and
// composing the image the view shows. Making the display copy is done once per photo, when
// it is cut out, and is measured apart (display-copy).
func BenchmarkPreview12MP(b *testing.B) {
	img, mask := synthetic(4000, 3000)
	d := newDisplayCopy(img, mask, displaySide)
	guided := matte.DefaultOptionsFor(matte.RefineGuided)
	edges := guided
	edges.Shift, edges.Feather = -3, 4
	for _, c := range []struct {
		name string
		o    matte.Options
	}{{"guided", guided}, {"guided+shift+feather", edges}, {"none", matte.DefaultOptions()}} {
		so := c.o.Scaled(d.scale)
		b.Run("slider-move/"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			var view = d.img
			for b.Loop() {
				out, a, err := matte.FinishAlpha(d.img, d.mask, nil, so)
				f := finished{out: out, alpha: a}
				if err != nil {
					b.Fatal(err)
				}
				view = composeView(view, f.out, d.img, showAfter, 0, nil)
			}
		})
	}
	b.Run("display-copy", func(b *testing.B) {
		for b.Loop() {
			newDisplayCopy(img, mask, displaySide)
		}
	})
	// A JPEG arrives in Y′CbCr: the display copy converts rows as it reduces them, where the
	// window used to get a converted NRGBA image first (ycbcr-via-nrgba).
	yc := image.NewYCbCr(img.Rect, image.YCbCrSubsampleRatio420)
	for y := 0; y < img.Rect.Dy(); y++ {
		for x := 0; x < img.Rect.Dx(); x++ {
			c := img.NRGBAAt(x, y)
			l, cb, cr := color.RGBToYCbCr(c.R, c.G, c.B)
			yc.Y[yc.YOffset(x, y)], yc.Cb[yc.COffset(x, y)], yc.Cr[yc.COffset(x, y)] = l, cb, cr
		}
	}
	b.Run("display-copy-ycbcr", func(b *testing.B) {
		for b.Loop() {
			newDisplayCopy(yc, mask, displaySide)
		}
	})
	b.Run("display-copy-ycbcr-via-nrgba", func(b *testing.B) {
		for b.Loop() {
			newDisplayCopy(ycc.ToNRGBA(yc), mask, displaySide)
		}
	})
	// The yardstick: one composite of the raw mask at full size, the least any export does.
	b.Run("raw-composite-full", func(b *testing.B) {
		raw := matte.DefaultOptions()
		for b.Loop() {
			matte.Composite(img, mask, raw)
		}
	})
}
