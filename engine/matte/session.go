package matte

import (
	"image"
	"image/color"
)

// Session finishes one image again and again as its options change, as an editor's preview
// does, keeping what each step made: the refined matte (post-processing, refinement and the
// hints: the costly part, seconds for closed-form matting on a large copy), then the matte
// after the edge adjustments, and the foreground estimated from the refined matte (as Finish
// does: see alphaAndForeground). A change of background, colour or edge colour strength only
// composites again (blending the kept estimate); of shift or feather, redoes the edges and the
// composite; of anything else, everything. The result is exactly Finish's. A Session is used
// from one goroutine at a time.
type Session struct {
	img  *image.NRGBA
	mask *image.Gray

	refinedKey, edgedKey sessionKey
	refined, alpha       *image.Gray
	fg                   *image.NRGBA // nil until a composite needs it
}

// sessionKey is what a cached step depends on: the options that reach it and the version of
// the hints (hints are compared by version, not by content).
type sessionKey struct {
	opts  Options
	hints uint64
	valid bool
}

// NewSession starts a session on img and the model's mask of it (the same size).
func NewSession(img *image.NRGBA, mask *image.Gray) *Session {
	return &Session{img: img, mask: mask}
}

// Finish returns the composite and the final matte for o and hints; hintsVersion must change
// whenever the hints do. It gives what FinishAlpha gives for the same arguments, without
// recomputing the steps the change did not reach.
func (s *Session) Finish(hints *Hints, hintsVersion uint64, o Options) (*image.NRGBA, *image.Gray, error) {
	rk := sessionKey{opts: o, hints: hintsVersion, valid: true}
	rk.opts.Shift, rk.opts.Feather = 0, 0
	rk.opts.Background, rk.opts.Color = 0, color.NRGBA{}
	rk.opts.EstimateForeground, rk.opts.EdgeColourStrength = false, 0
	ek := rk
	ek.opts.Shift, ek.opts.Feather = o.Shift, o.Feather
	if s.refinedKey != rk {
		r := rk.opts // no edges: those come next, on a copy
		a, err := alpha(s.img.Rect, s.img, s.mask, hints, r, false)
		if err != nil {
			return nil, nil, err
		}
		s.refined, s.refinedKey, s.edgedKey, s.fg = a, rk, sessionKey{}, nil
	}
	if s.edgedKey != ek {
		if err := o.Validate(); err != nil {
			return nil, nil, err
		}
		a := s.refined
		if o.Shift != 0 || o.Feather > 0 {
			a = edges(cloneGray(a, a.Rect), o)
		}
		s.alpha, s.edgedKey = a, ek
	}
	fg := s.img
	if o.estimates() {
		if s.fg == nil {
			s.fg = EstimateForeground(s.img, s.refined)
		}
		fg = s.fg
		if o.EdgeColourStrength < 1 {
			fg = BlendForeground(s.img, s.fg, o.EdgeColourStrength)
		}
	}
	return Composite(fg, s.alpha, o), s.alpha, nil
}
