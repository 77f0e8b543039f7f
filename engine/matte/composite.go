package matte

import (
	"fmt"
	"image"

	"cutout/internal/parallel"
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
	parallel.For(w*h, func(lo, hi int) {
		compositeRow(out.Pix[4*lo:4*hi], pix[4*lo:4*hi], ap[lo:hi], o)
	})
}

// compositeRow composites a run of pixels: colours s (RGBA, alpha ignored) under matte a into
// d (NRGBA). d may be s itself: each pixel is read before it is written.
func compositeRow(d, s, a []uint8, o Options) {
	c := o.Color
	d, s = d[:4*len(a)], s[:4*len(a)]
	for i, ai := range a {
		p, q, m := d[4*i:4*i+4:4*i+4], s[4*i:4*i+3:4*i+3], uint32(ai)
		switch o.Background {
		case BackgroundMask:
			p[0], p[1], p[2], p[3] = ai, ai, ai, 255
		case BackgroundColor:
			// Premultiplied over, in units of 255*255.
			ca := uint32(c.A) * (255 - m)
			oa := m*255 + ca
			if oa == 0 {
				p[0], p[1], p[2], p[3] = 0, 0, 0, 0
				continue
			}
			p[0] = uint8((uint32(q[0])*m*255 + uint32(c.R)*ca + oa/2) / oa)
			p[1] = uint8((uint32(q[1])*m*255 + uint32(c.G)*ca + oa/2) / oa)
			p[2] = uint8((uint32(q[2])*m*255 + uint32(c.B)*ca + oa/2) / oa)
			p[3] = uint8((oa + 127) / 255)
		default:
			if m == 0 {
				// Fully transparent: no colour, as rembg writes it (and far smaller PNGs).
				p[0], p[1], p[2], p[3] = 0, 0, 0, 0
				continue
			}
			p[0], p[1], p[2], p[3] = q[0], q[1], q[2], ai
		}
	}
}

// MaskOf is the matte of a BackgroundMask composite as 8-bit grey: one channel of the opaque
// grey image Composite made, so that a mask is written as a grey PNG (a quarter of the
// bytes).
func MaskOf(img *image.NRGBA) *image.Gray {
	g := image.NewGray(img.Rect)
	for y := 0; y < img.Rect.Dy(); y++ {
		src := img.Pix[y*img.Stride:]
		dst := g.Pix[y*g.Stride : y*g.Stride+img.Rect.Dx()]
		for x := range dst {
			dst[x] = src[4*x]
		}
	}
	return g
}

// Over lays the cut-out fg (non-premultiplied alpha) over bg, an opaque image of the same
// size, and returns the opaque result (written into bg): a background photo, or the photo's
// own background blurred.
func Over(fg, bg *image.NRGBA) *image.NRGBA {
	if fg.Rect.Size() != bg.Rect.Size() {
		panic(fmt.Sprintf("matte.Over: foreground is %v but background is %v", fg.Rect.Size(), bg.Rect.Size()))
	}
	w, h := fg.Rect.Dx(), fg.Rect.Dy()
	parallel.For(h, func(lo, hi int) {
		for y := lo; y < hi; y++ {
			s := fg.Pix[y*fg.Stride : y*fg.Stride+4*w]
			d := bg.Pix[y*bg.Stride : y*bg.Stride+4*w]
			for i := 0; i < len(s); i += 4 {
				a := uint32(s[i+3])
				for c := 0; c < 3; c++ {
					d[i+c] = uint8((uint32(s[i+c])*a + uint32(d[i+c])*(255-a) + 127) / 255)
				}
				d[i+3] = 255
			}
		}
	})
	return bg
}
