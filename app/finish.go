package app

import (
	"image"
	"image/draw"
	"io"

	"cutout/engine/matte"
	"cutout/engine/ycc"
)

// finishedPNG is the one finishing step of every output — the command line, hot folders and
// the window's export: the matte from the model's mask and the brush hints, the foreground's
// colours when asked for, the composite, encoded as PNG by the function it returns. img is
// the photo as decoded. A JPEG's *image.YCbCr is composited from its planes row by row as
// the encoder takes the rows, so that the full-size RGBA image (96 MB at 24 MP) is never
// made, unless an option needs the whole image. With owned, img and mask are the caller's to
// give up and the result is made in them; otherwise neither is changed.
func finishedPNG(sink *Sink, img image.Image, mask *image.Gray, hints *matte.Hints, o matte.Options, owned bool) (func(io.Writer) error, error) {
	if m, ok := img.(*image.YCbCr); ok && !o.NeedsImage() && o.Background != matte.BackgroundMask {
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
	finish := matte.Finish
	if owned || fresh {
		finish = matte.FinishInPlace
	}
	out, err := finish(src, mask, hints, o)
	if err != nil {
		return nil, err
	}
	var res image.Image = out
	if o.Background == matte.BackgroundMask {
		res = matte.MaskOf(out)
	}
	return func(w io.Writer) error { return sink.EncodePNG(w, res) }, nil
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
