package matte

import (
	"bytes"
	"image"
	"image/color"
	"testing"
)

// A Session gives exactly FinishAlpha's result through a run of edits, and a change of the
// edges or the background keeps the refined matte it solved before.
func TestSessionMatchesFinish(t *testing.T) {
	img, mask := photoLike(160, 120)
	keep := image.NewAlpha(img.Rect)
	for y := 10; y < 20; y++ {
		for x := 10; x < 30; x++ {
			keep.SetAlpha(x, y, color.Alpha{A: 255})
		}
	}
	hints := &Hints{Keep: keep}
	s := NewSession(img, mask)
	base := DefaultOptionsFor(RefineClosedForm)
	steps := []struct {
		name    string
		edit    func(o *Options)
		hints   *Hints
		version uint64
		reuse   bool // the refined matte of the step before is kept
	}{
		{"closed-form", func(o *Options) {}, nil, 0, false},
		{"feather", func(o *Options) { o.Feather = 3 }, nil, 0, true},
		{"shift", func(o *Options) { o.Feather, o.Shift = 3, -2 }, nil, 0, true},
		{"colour", func(o *Options) {
			o.Feather, o.Shift, o.Background, o.Color = 3, -2, BackgroundColor, color.NRGBA{G: 200, A: 255}
		}, nil, 0, true},
		{"no estimate", func(o *Options) { o.Feather, o.EstimateForeground = 3, false }, nil, 0, true},
		{"a stroke", func(o *Options) { o.Feather = 3 }, hints, 1, false},
		{"threshold", func(o *Options) { o.Feather, o.FGThreshold = 3, 200 }, hints, 1, false},
		{"guided", func(o *Options) { *o = DefaultOptionsFor(RefineGuided) }, hints, 1, false},
		{"mask", func(o *Options) { *o = DefaultOptionsFor(RefineGuided); o.Background = BackgroundMask }, hints, 1, true},
	}
	for _, st := range steps {
		o := base
		st.edit(&o)
		before := s.refined
		out, a, err := s.Finish(st.hints, st.version, o)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		wantOut, wantA, err := FinishAlpha(img, mask, st.hints, o)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Pix, wantOut.Pix) || !bytes.Equal(a.Pix, wantA.Pix) {
			t.Errorf("%s: the session's result differs from FinishAlpha's", st.name)
		}
		if kept := before != nil && s.refined == before; kept != st.reuse {
			t.Errorf("%s: refined matte kept = %v, want %v", st.name, kept, st.reuse)
		}
	}
}

// BenchmarkSessionEdit1280 is a slider move on a 1280 × 960 preview with closed-form matting:
// "resolve" solves the matte each time (as before sessions), "feather" and "background"
// reuse the session's solved matte.
func BenchmarkSessionEdit1280(b *testing.B) {
	img, mask := photoLike(1280, 960)
	o := DefaultOptionsFor(RefineClosedForm)
	b.Run("resolve", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			o.Feather = float64(2 + i%2)
			if _, _, err := FinishAlpha(img, mask, nil, o); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, edit := range []string{"feather", "background"} {
		b.Run(edit, func(b *testing.B) {
			s := NewSession(img, mask)
			if _, _, err := s.Finish(nil, 0, o); err != nil {
				b.Fatal(err)
			}
			for i := 0; b.Loop(); i++ {
				e := o
				if edit == "feather" {
					e.Feather = float64(2 + i%2)
				} else {
					e.Background, e.Color = BackgroundColor, color.NRGBA{R: uint8(i), A: 255}
				}
				if _, _, err := s.Finish(nil, 0, e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
