package matte

import (
	"bytes"
	"image"
	"testing"
)

// EdgeColourStrength blends between the image's colours (0) and the estimate (1), in Finish
// and in a Session alike, and a Session moves it without estimating again.
func TestEdgeColourStrength(t *testing.T) {
	img, mask := photoLike(160, 120)
	o := DefaultOptionsFor(RefineGuided)
	o.EstimateForeground = true
	finish := func(s float64) []uint8 {
		e := o
		e.EdgeColourStrength = s
		out, err := Finish(img, mask, nil, e)
		if err != nil {
			t.Fatal(err)
		}
		return out.Pix
	}
	off := o
	off.EstimateForeground = false
	plain, err := Finish(img, mask, nil, off)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(finish(0), plain.Pix) {
		t.Error("strength 0 differs from no estimation")
	}
	full, half := finish(1), finish(0.5)
	if bytes.Equal(full, plain.Pix) {
		t.Fatal("the estimate changes nothing: the test cannot tell strengths apart")
	}
	// Halfway lies between the two, channel by channel, within rounding.
	for i := range half {
		lo, hi := int(min(full[i], plain.Pix[i])), int(max(full[i], plain.Pix[i]))
		if int(half[i]) < lo-1 || int(half[i]) > hi+1 {
			t.Fatalf("byte %d: strength 0.5 gives %d, outside %d..%d", i, half[i], lo, hi)
		}
	}
	n := DefaultOptions()
	n.EstimateForeground = true
	if !n.NeedsImage() {
		t.Error("NeedsImage: false with the estimate on")
	}
	if n.EdgeColourStrength = 0; n.NeedsImage() {
		t.Error("NeedsImage: strength 0 estimates nothing, so needs no image")
	}

	s := NewSession(img, mask)
	var kept *image.NRGBA
	for _, st := range []float64{1, 0.5, 0.25, 0, 1} {
		e := o
		e.EdgeColourStrength = st
		out, _, err := s.Finish(nil, 0, e)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Pix, finish(st)) {
			t.Errorf("strength %v: the session's result differs from Finish's", st)
		}
		if s.fg != nil {
			if kept != nil && s.fg != kept {
				t.Errorf("strength %v: the estimate was made again", st)
			}
			kept = s.fg
		}
	}
}

func TestBlendForeground(t *testing.T) {
	img, _ := randomImage(7, 5, 3)
	fg, _ := randomImage(7, 5, 4)
	for i := 3; i < len(img.Pix); i += 4 {
		img.Pix[i], fg.Pix[i] = 255, 255
	}
	if got := BlendForeground(img, fg, 0); !bytes.Equal(got.Pix, img.Pix) {
		t.Error("strength 0 is not the image")
	}
	if got := BlendForeground(img, fg, 1); !bytes.Equal(got.Pix, fg.Pix) {
		t.Error("strength 1 is not the foreground")
	}
}

// Finish estimates the colours from the matte before Shift and Feather (the one that explains
// the image) and composites them with the edged matte; a Session keeps that estimate through
// edge moves.
func TestFinishEstimatesBeforeEdges(t *testing.T) {
	img, mask := photoLike(160, 120)
	o := DefaultOptionsFor(RefineGuided)
	o.EstimateForeground, o.Feather, o.Shift = true, 4, -1
	out, a, err := FinishAlpha(img, mask, nil, o)
	if err != nil {
		t.Fatal(err)
	}
	plain := o
	plain.Feather, plain.Shift = 0, 0
	refined, err := Alpha(img, mask, nil, plain)
	if err != nil {
		t.Fatal(err)
	}
	want := Composite(EstimateForeground(img, refined), a, o)
	if !bytes.Equal(out.Pix, want.Pix) {
		t.Error("Finish's colours are not the estimate from the matte before the edge adjustments")
	}
	s := NewSession(img, mask)
	if _, _, err := s.Finish(nil, 0, o); err != nil {
		t.Fatal(err)
	}
	kept := s.fg
	o.Feather = 2
	got, _, err := s.Finish(nil, 0, o)
	if err != nil {
		t.Fatal(err)
	}
	if s.fg != kept {
		t.Error("a feather move estimated the colours again")
	}
	if want, _, _ := FinishAlpha(img, mask, nil, o); !bytes.Equal(got.Pix, want.Pix) {
		t.Error("after a feather move the session's result differs from FinishAlpha's")
	}
	if _, _, err := FinishAlpha(img, mask, nil, Options{EstimateForeground: true, EdgeColourStrength: 1, Feather: -1}); err == nil {
		t.Error("an invalid feather passed with the estimate on")
	}
}
