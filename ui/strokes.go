package ui

import (
	"image"
	"math"

	"cutout/engine/matte"
)

// stroke is one brush stroke, in pixels of the display copy: a polyline swept by a disc.
type stroke struct {
	remove bool     // a "remove" stroke (else "keep")
	radius float64  // brush radius
	pts    []fpoint // the pointer's path (at least one point)
}

// fpoint is a point in image pixels.
type fpoint struct{ x, y float64 }

// strokes is a job's brush strokes with their undo history.
type strokes struct {
	done []stroke
	redo []stroke
}

// add appends a finished stroke; it clears the redo history.
func (s *strokes) add(st stroke) {
	s.done = append(s.done, st)
	s.redo = nil
}

// undo takes back the last stroke; it reports whether there was one.
func (s *strokes) undo() bool {
	if len(s.done) == 0 {
		return false
	}
	s.redo = append(s.redo, s.done[len(s.done)-1])
	s.done = s.done[:len(s.done)-1]
	return true
}

// redoOne puts back the last undone stroke; it reports whether there was one.
func (s *strokes) redoOne() bool {
	if len(s.redo) == 0 {
		return false
	}
	s.done = append(s.done, s.redo[len(s.redo)-1])
	s.redo = s.redo[:len(s.redo)-1]
	return true
}

// hints rasterises the strokes for an image of size w × h that is scale times the size of
// the copy they were painted on (nil when there are none).
func (s *strokes) hints(w, h int, scale float64) *matte.Hints {
	if len(s.done) == 0 {
		return nil
	}
	hs := newHints(w, h)
	for _, st := range s.done {
		paintStroke(hs, st, scale)
	}
	return hs
}

// newHints returns empty Keep and Remove layers of size w × h.
func newHints(w, h int) *matte.Hints {
	r := image.Rect(0, 0, w, h)
	return &matte.Hints{Keep: image.NewAlpha(r), Remove: image.NewAlpha(r)}
}

// cloneHints copies h (nil stays nil).
func cloneHints(h *matte.Hints) *matte.Hints {
	if h == nil {
		return nil
	}
	c := func(a *image.Alpha) *image.Alpha {
		if a == nil {
			return nil
		}
		return &image.Alpha{Pix: append([]uint8(nil), a.Pix...), Stride: a.Stride, Rect: a.Rect}
	}
	return &matte.Hints{Keep: c(h.Keep), Remove: c(h.Remove)}
}

// paintStroke draws st, scaled by scale, into the layer of h it belongs to. A later
// stroke of the other kind erases this one where they overlap, so the last stroke wins.
func paintStroke(h *matte.Hints, st stroke, scale float64) {
	on, off := h.Keep, h.Remove
	if st.remove {
		on, off = off, on
	}
	r := math.Max(0.5, st.radius*scale)
	prev := st.pts[0]
	for i, p := range st.pts {
		if i == 0 {
			p = prev
		}
		a := fpoint{prev.x * scale, prev.y * scale}
		b := fpoint{p.x * scale, p.y * scale}
		capsule(on, off, a, b, r)
		prev = p
	}
}

// capsule sets every pixel of on whose centre lies within r of the segment ab, and clears
// the same pixels of off.
func capsule(on, off *image.Alpha, a, b fpoint, r float64) {
	box := image.Rect(int(math.Floor(math.Min(a.x, b.x)-r)), int(math.Floor(math.Min(a.y, b.y)-r)),
		int(math.Ceil(math.Max(a.x, b.x)+r))+1, int(math.Ceil(math.Max(a.y, b.y)+r))+1).Intersect(on.Rect)
	dx, dy := b.x-a.x, b.y-a.y
	l2 := dx*dx + dy*dy
	r2 := r * r
	for y := box.Min.Y; y < box.Max.Y; y++ {
		py := float64(y) + 0.5
		for x := box.Min.X; x < box.Max.X; x++ {
			px := float64(x) + 0.5
			t := 0.0
			if l2 > 0 {
				t = math.Min(1, math.Max(0, ((px-a.x)*dx+(py-a.y)*dy)/l2))
			}
			ex, ey := px-(a.x+t*dx), py-(a.y+t*dy)
			if ex*ex+ey*ey <= r2 {
				i := on.PixOffset(x, y)
				on.Pix[i] = 255
				if off != nil {
					off.Pix[i] = 0
				}
			}
		}
	}
}
