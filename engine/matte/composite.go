package matte

import (
	"fmt"
	"image"
)

// Composite makes the output image (with alpha's bounds) from foreground colours and a matte:
// with BackgroundTransparent the colour is fg's and the alpha is the matte; with
// BackgroundColor the cut-out is laid over o.Color (Porter-Duff over; opaque when o.Color is);
// with BackgroundMask the matte itself, as opaque grey. fg and alpha must have the same size
// (it panics otherwise); fg's own alpha is ignored.
func Composite(fg *image.NRGBA, alpha *image.Gray, o Options) *image.NRGBA {
	if fg.Rect.Size() != alpha.Rect.Size() {
		panic(fmt.Sprintf("matte.Composite: foreground is %v but alpha is %v", fg.Rect.Size(), alpha.Rect.Size()))
	}
	out := image.NewNRGBA(alpha.Rect)
	compositeInto(out, fg, alpha, o)
	return out
}

// compositeInto is Composite writing into out, which must be tight (Stride = 4·width) and the
// size of fg; out may be fg itself: each pixel is read before it is written.
func compositeInto(out, fg *image.NRGBA, alpha *image.Gray, o Options) {
	pix, w, h := nrgbaPix(fg)
	ap, _, _ := grayPix(alpha)
	c := o.Color
	parallel(w*h, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			d, s, a := out.Pix[4*i:4*i+4:4*i+4], pix[4*i:4*i+3:4*i+3], uint32(ap[i])
			switch o.Background {
			case BackgroundMask:
				d[0], d[1], d[2], d[3] = ap[i], ap[i], ap[i], 255
			case BackgroundColor:
				// Premultiplied over, in units of 255*255.
				ca := uint32(c.A) * (255 - a)
				oa := a*255 + ca
				if oa == 0 {
					d[0], d[1], d[2], d[3] = 0, 0, 0, 0
					continue
				}
				d[0] = uint8((uint32(s[0])*a*255 + uint32(c.R)*ca + oa/2) / oa)
				d[1] = uint8((uint32(s[1])*a*255 + uint32(c.G)*ca + oa/2) / oa)
				d[2] = uint8((uint32(s[2])*a*255 + uint32(c.B)*ca + oa/2) / oa)
				d[3] = uint8((oa + 127) / 255)
			default:
				if a == 0 {
					// Fully transparent: no colour, as rembg writes it (and far smaller PNGs).
					d[0], d[1], d[2], d[3] = 0, 0, 0, 0
					continue
				}
				d[0], d[1], d[2], d[3] = s[0], s[1], s[2], ap[i]
			}
		}
	})
}
