package matte

import (
	"fmt"
	"image"
	"math"
)

// Hints are the user's brush strokes from the GUI, the same size as the image: nonzero pixels
// of Keep force foreground, of Remove force background. Either may be nil.
type Hints struct {
	Keep, Remove *image.Alpha
}

// Alpha computes the final alpha matte (same bounds as img) from the model's mask. The order:
//
//  1. PostProcess (rembg's post_process_mask) cleans the raw mask, as rembg does before matting.
//  2. Refinement. RefineNone keeps the mask. RefineGuided filters it with the image as guide.
//     RefineClosedForm builds the trimap at full size (thresholds, Erode/2 px), writes the hints into
//     it, and solves closed-form matting on a working copy whose longer side is BaseSize; the
//     working alpha is upsampled bilinearly and used only where the full-size trimap is unknown,
//     so certain regions, hint strokes and the trimap's edges stay exact at full resolution
//     (upsampling the whole solution would blur them; solving at full size is too slow for
//     large photos).
//  3. Hints override the refined matte (Keep = 255, Remove = 0).
//  4. Shift grows or shrinks the matte, then Feather softens its edges: these are global edge
//     adjustments the user sees last, so they apply to the strokes too.
func Alpha(img *image.NRGBA, mask *image.Gray, hints *Hints, o Options) (*image.Gray, error) {
	return alpha(img.Rect, img, mask, hints, o, false)
}

// alpha is Alpha for an image with bounds r; img may be nil when o.Refine is RefineNone (the
// matte is then the mask's alone). With reuse, that matte is made in mask itself rather than
// in a copy (the caller gives mask up).
func alpha(r image.Rectangle, img *image.NRGBA, mask *image.Gray, hints *Hints, o Options, reuse bool) (*image.Gray, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if err := checkSizes(r, mask, hints); err != nil {
		return nil, err
	}
	m := mask
	if o.PostProcess {
		m = PostProcessMask(mask)
	}
	var a *image.Gray
	switch o.Refine {
	case RefineNone:
		if reuse && m.Rect == r && m.Stride == r.Dx() {
			a = m
		} else {
			a = cloneGray(m, r)
		}
	case RefineGuided:
		g := cloneGray(m, r)
		applyForce(g, hints)
		a = GuidedFilter(img, g, guidedRadius(o.GuidedRadius, img.Rect), o.GuidedEps)
	case RefineClosedForm:
		a = closedFormAlpha(img, m, hints, o)
	}
	applyForce(a, hints)
	return edges(a, o), nil
}

// edges applies the global edge adjustments, last: Shift grows or shrinks the matte, then
// Feather softens it. They may return a itself or a new matte.
func edges(a *image.Gray, o Options) *image.Gray {
	if o.Shift != 0 {
		a = Shift(a, o.Shift)
	}
	if o.Feather > 0 {
		a = Feather(a, o.Feather)
	}
	return a
}

// Finish is the full finishing stage: Alpha, then (when o.EstimateForeground and the output
// shows colour) foreground estimation, blended with the image by o.EdgeColourStrength, then
// Composite.
func Finish(img *image.NRGBA, mask *image.Gray, hints *Hints, o Options) (*image.NRGBA, error) {
	out, _, err := FinishAlpha(img, mask, hints, o)
	return out, err
}

// FinishAlpha is Finish that also returns the matte it composited with, for a preview that
// shows the matte beside the result.
func FinishAlpha(img *image.NRGBA, mask *image.Gray, hints *Hints, o Options) (*image.NRGBA, *image.Gray, error) {
	a, fg, err := alphaAndForeground(img, mask, hints, o)
	if err != nil {
		return nil, nil, err
	}
	return Composite(fg, a, o), a, nil
}

// alphaAndForeground is what Finish and FinishInPlace share: the matte, and the colours to
// composite with it (img, or its estimated foreground when asked for and shown). The colours
// are estimated from the matte before Shift and Feather, the one that explains the image:
// from a feathered matte the estimate takes the soft band for a mix with the background that
// is not there (on the lemur composites, feather 6 px, the colour error is 1.8 × larger).
func alphaAndForeground(img *image.NRGBA, mask *image.Gray, hints *Hints, o Options) (*image.Gray, *image.NRGBA, error) {
	if !o.estimates() {
		a, err := Alpha(img, mask, hints, o)
		return a, img, err
	}
	if err := o.Validate(); err != nil {
		return nil, nil, err
	}
	r := o
	r.Shift, r.Feather = 0, 0
	refined, err := alpha(img.Rect, img, mask, hints, r, false)
	if err != nil {
		return nil, nil, err
	}
	fg := EstimateForeground(img, refined)
	if o.EdgeColourStrength < 1 {
		blendForeground(fg, img, fg, o.EdgeColourStrength)
	}
	return edges(refined, o), fg, nil
}

// FinishInPlace is Finish writing the result over img (which it returns), for callers that own
// the decoded image and need no copy of it: a 12 MP photo saves 48 MB.
func FinishInPlace(img *image.NRGBA, mask *image.Gray, hints *Hints, o Options) (*image.NRGBA, error) {
	if img.Stride != 4*img.Rect.Dx() {
		return Finish(img, mask, hints, o) // not tight: no place to write in
	}
	a, fg, err := alphaAndForeground(img, mask, hints, o)
	if err != nil {
		return nil, err
	}
	compositeInto(img, fg, a, o)
	return img, nil
}

// RowFunc writes pixels [x0, x1) of row y of an image (rows counted from its top) as 8-bit
// RGBA into dst[4·x0 : 4·x1]; dst is the output row, alpha is ignored.
type RowFunc func(y, x0, x1 int, dst []uint8)

// FinishedRows is Finish for an image that is read row by row, such as a JPEG's Y′CbCr
// converted as it goes, when o.NeedsImage() is false, and without an output image: it makes
// the matte (from the mask alone) and returns a function that writes row y of the finished
// image (NRGBA, 4·width bytes) into dst, for an encoder that takes rows as they are made, so
// that the output never exists whole. Only the pixels that the output shows in colour are
// read — on a transparent cut-out, the run of each row between its first and last visible
// pixel. rect gives the size. The matte is made in mask itself where it can be, so mask is
// the caller's to give up: nothing the size of the image is made unless an edge option needs
// it (post-processing, shift, feather). The function may be called from several goroutines
// at once.
func FinishedRows(rect image.Rectangle, rows RowFunc, mask *image.Gray, hints *Hints, o Options) (func(y int, dst []uint8), error) {
	if o.NeedsImage() {
		return nil, fmt.Errorf("matte: FinishedRows cannot refine or estimate colours; convert the image and use Finish")
	}
	a, err := alpha(rect, nil, mask, hints, o, true)
	if err != nil {
		return nil, err
	}
	w := rect.Dx()
	return func(y int, d []uint8) {
		ar := a.Pix[y*a.Stride : y*a.Stride+w]
		d = d[:4*w]
		if o.Background != BackgroundMask {
			// Pixels with a zero matte show no colour of their own (transparent, or the
			// background colour), so the image is read between the first and last others.
			x0, x1 := 0, w
			for x0 < w && ar[x0] == 0 {
				x0++
			}
			for x1 > x0 && ar[x1-1] == 0 {
				x1--
			}
			if x0 < x1 {
				rows(y, x0, x1, d)
			}
		}
		compositeRow(d, d, ar, o)
	}, nil
}

// checkSizes reports inputs whose sizes differ from the image's (bounds r).
func checkSizes(r image.Rectangle, mask *image.Gray, h *Hints) error {
	sz := r.Size()
	if r.Empty() {
		return fmt.Errorf("matte: empty image")
	}
	if mask.Rect.Size() != sz {
		return fmt.Errorf("matte: mask is %v but image is %v", mask.Rect.Size(), sz)
	}
	if h != nil && h.Keep != nil && h.Keep.Rect.Size() != sz {
		return fmt.Errorf("matte: keep strokes are %v but image is %v", h.Keep.Rect.Size(), sz)
	}
	if h != nil && h.Remove != nil && h.Remove.Rect.Size() != sz {
		return fmt.Errorf("matte: remove strokes are %v but image is %v", h.Remove.Rect.Size(), sz)
	}
	return nil
}

// cloneGray copies g into a new tight image with bounds r (same size).
func cloneGray(g *image.Gray, r image.Rectangle) *image.Gray {
	p, _, _ := grayPix(g)
	return newGray(r, append([]uint8(nil), p...))
}

// applyForce writes the hints into a matte: Remove to 0, then Keep to 255.
func applyForce(a *image.Gray, h *Hints) { ApplyHints(a, h) }

// guidedRadius resolves Options.GuidedRadius: 0 means 1% of the longer side, at least 2 px.
func guidedRadius(r int, b image.Rectangle) int {
	if r > 0 {
		return r
	}
	return max(2, int(math.Round(float64(max(b.Dx(), b.Dy()))/100)))
}

// closedFormAlpha is the RefineClosedForm path of Alpha.
func closedFormAlpha(img *image.NRGBA, mask *image.Gray, hints *Hints, o Options) *image.Gray {
	tri := Trimap(mask, o.FGThreshold, o.BGThreshold, o.Erode/2)
	ApplyHints(tri, hints)
	t, w, h := grayPix(tri)
	unknown := false
	for _, v := range t {
		if v != TrimapForeground && v != TrimapBackground {
			unknown = true
			break
		}
	}
	if !unknown {
		return tri
	}
	pix, _, _ := nrgbaPix(img)
	mp, _, _ := grayPix(mask)
	rgb, prior := rgbFloat(pix, w*h), grayFloat(mp)
	ww, wh := workingSize(w, h, o.BaseSize)
	wt := t
	if ww != w || wh != h {
		rgb = downsample(rgb, 3, w, h, ww, wh)
		prior = downsample(prior, 1, w, h, ww, wh)
		wt = reduceTrimap(t, w, h, ww, wh)
	}
	wa, _ := solveAlpha(rgb, wt, prior, ww, wh, CFOptions{}.withDefaults())
	out := t // the trimap is ours: overwrite its unknown pixels in place
	if ww == w && wh == h {
		for i, v := range wa {
			if out[i] == TrimapUnknown {
				out[i] = to8(v)
			}
		}
		return tri
	}
	upsample(wa, ww, wh, w, h, func(i int, v float32) {
		if out[i] != TrimapForeground && out[i] != TrimapBackground {
			out[i] = to8(v)
		}
	})
	return tri
}
