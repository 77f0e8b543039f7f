package app

import (
	"image"
	"image/color"
	"image/draw"
	"io"

	"github.com/disintegration/imaging"

	"cutout/engine/matte"
	"cutout/engine/ycc"
)

// finishedImage is the one finishing step of every output — the command line, hot folders
// and the window's export: the matte from the model's mask and the brush hints, the
// foreground's colours when asked for, the composite, encoded in the output format by the
// function it returns. img is the photo as decoded. For a PNG, a JPEG's *image.YCbCr is
// composited from its planes row by row as the encoder takes the rows, so that the
// full-size RGBA image (96 MB at 24 MP) is never made, unless an option needs the whole
// image. A format without alpha (JPEG) is laid over the background colour (white unless one
// is chosen). With owned, img and mask are the caller's to give up and the result is made in
// them; otherwise neither is changed.
func finishedImage(sink *Sink, img image.Image, mask *image.Gray, hints *matte.Hints, o matte.Options, out Output, owned bool) (func(io.Writer) error, error) {
	underlay := out.BgImage != nil || out.BgBlur > 0
	if underlay {
		o.Background = matte.BackgroundTransparent // the cut-out first, laid over below
	} else if out.opaque() && o.Background == matte.BackgroundTransparent {
		o.Background = matte.BackgroundColor
	}
	png := out.Format == "" || out.Format == "png"
	if m, ok := img.(*image.YCbCr); ok && png && out.Frame.IsZero() && !underlay && !o.NeedsImage() && o.Background != matte.BackgroundMask {
		b := m.Rect
		row, err := matte.FinishedRows(b, ycc.Rows(m), mask, hints, o)
		if err != nil {
			return nil, err
		}
		return func(w io.Writer) error {
			return sink.EncodePNGRows(w, b.Dx(), b.Dy(), func(y int, scratch []byte) []byte {
				row(y, scratch)
				return scratch
			})
		}, nil
	}
	src, fresh := nrgba(img)
	var res *image.NRGBA
	var err error
	switch {
	case !out.Frame.IsZero() || underlay:
		// Framing finds the subject in the matte, which a composite over a colour hides.
		var a *image.Gray
		if res, a, err = matte.FinishAlpha(src, mask, hints, o); err == nil {
			if out.BgBlur > 0 {
				res = matte.Over(res, imaging.Blur(src, out.BgBlur))
			}
			res = out.Frame.apply(res, func(x, y int) uint8 { return a.Pix[a.PixOffset(x, y)] }, frameFill(o))
			if out.BgImage != nil {
				b := res.Rect
				res = matte.Over(res, imaging.Fill(out.BgImage, b.Dx(), b.Dy(), imaging.Center, imaging.Lanczos))
			}
		}
	case owned || fresh:
		res, err = matte.FinishInPlace(src, mask, hints, o)
	default:
		res, err = matte.Finish(src, mask, hints, o)
	}
	if err != nil {
		return nil, err
	}
	var final image.Image = res
	if o.Background == matte.BackgroundMask {
		final = matte.MaskOf(res)
	}
	if !png {
		return out.encoder(final), nil
	}
	return func(w io.Writer) error { return sink.EncodePNG(w, final) }, nil
}

// nrgba is img as a tight NRGBA image with its origin at (0, 0); fresh reports that it is a
// new image (a conversion), not img itself.
func nrgba(img image.Image) (m *image.NRGBA, fresh bool) {
	switch m := img.(type) {
	case *image.NRGBA:
		if m.Rect.Min == (image.Point{}) {
			return m, false
		}
	case *image.YCbCr:
		return ycc.ToNRGBA(m), true
	}
	b := img.Bounds()
	out := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(out, out.Rect, img, b.Min, draw.Src)
	return out, true
}

// frameFill is what a frame adds around the cut-out: transparency, the background colour,
// or black (background) in a mask.
func frameFill(o matte.Options) color.NRGBA {
	switch o.Background {
	case matte.BackgroundColor:
		c := o.Color
		c.A = 255
		return c
	case matte.BackgroundMask:
		return color.NRGBA{A: 255}
	}
	return color.NRGBA{}
}
