package matte

import (
	"image"

	"cutout/internal/parallel"
)

// Trimap values.
const (
	TrimapBackground uint8 = 0   // certain background
	TrimapUnknown    uint8 = 128 // to be solved
	TrimapForeground uint8 = 255 // certain foreground
)

// Trimap classifies the model's mask as rembg does: pixels above fgThreshold are foreground,
// below bgThreshold background, the rest unknown; then both certain regions are eroded by a
// square of radius erode px (side 2*erode+1), so the unknown band grows by erode px on each
// side of every edge. Unlike rembg, the image border does not erode the foreground: a subject
// cut by the frame stays certain there. The result has mask's bounds; values are TrimapForeground,
// TrimapBackground and TrimapUnknown.
func Trimap(mask *image.Gray, fgThreshold, bgThreshold, erode int) *image.Gray {
	m, w, h := grayPix(mask)
	fg := make([]bool, w*h)
	bg := make([]bool, w*h)
	parallel.For(len(m), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			fg[i] = int(m[i]) > fgThreshold
			bg[i] = int(m[i]) < bgThreshold
		}
	})
	if erode > 0 {
		erodeBinary(fg, w, h, erode)
		erodeBinary(bg, w, h, erode)
	}
	out := make([]uint8, w*h)
	parallel.For(len(out), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			switch {
			case fg[i]:
				out[i] = TrimapForeground
			case bg[i]:
				out[i] = TrimapBackground
			default:
				out[i] = TrimapUnknown
			}
		}
	})
	return newGray(mask.Rect, out)
}

// ApplyHints writes the user's strokes into a trimap: Remove strokes become certain background,
// then Keep strokes certain foreground (Keep wins where both are painted: losing part of the
// subject is the worse mistake). Hints are matched to the trimap by offset from their top-left
// corners; parts outside the trimap are ignored. h or either of its fields may be nil.
func ApplyHints(trimap *image.Gray, h *Hints) {
	if h == nil {
		return
	}
	force(trimap, h.Remove, 0)
	force(trimap, h.Keep, 255)
}

// force sets the pixels of g where a is nonzero to v.
func force(g *image.Gray, a *image.Alpha, v uint8) {
	if a == nil {
		return
	}
	w := min(g.Rect.Dx(), a.Rect.Dx())
	h := min(g.Rect.Dy(), a.Rect.Dy())
	parallel.For(h, func(lo, hi int) {
		for y := lo; y < hi; y++ {
			dst := g.Pix[y*g.Stride : y*g.Stride+w]
			for x, s := range a.Pix[y*a.Stride : y*a.Stride+w] {
				if s != 0 {
					dst[x] = v
				}
			}
		}
	})
}

// erodeBinary erodes b (w×h) in place by a square of radius r: a pixel stays set only when every
// pixel within Chebyshev distance r is set. Pixels outside the image count as set. Separable and
// O(w*h) whatever r: each pass keeps the distance to the nearest unset pixel along its axis.
func erodeBinary(b []bool, w, h, r int) {
	const far = 1 << 30
	parallel.For(h, func(lo, hi int) {
		dl := make([]int, w)
		for y := lo; y < hi; y++ {
			row := b[y*w : (y+1)*w]
			last := -far
			for x, v := range row {
				if !v {
					last = x
				}
				dl[x] = x - last
			}
			next := far
			for x := w - 1; x >= 0; x-- {
				if !row[x] {
					next = x
				}
				row[x] = min(dl[x], next-x) > r
			}
		}
	})
	// Vertical pass: one column band per chunk, walked row by row for cache locality.
	parallel.For((w+63)/64, func(lo, hi int) {
		x0, x1 := lo*64, min(hi*64, w)
		n := x1 - x0
		last := make([]int, n)
		dl := make([]int, n*h)
		for i := range last {
			last[i] = -far
		}
		for y := range h {
			for i := range n {
				if !b[y*w+x0+i] {
					last[i] = y
				}
				dl[y*n+i] = y - last[i]
			}
		}
		for i := range last {
			last[i] = far
		}
		for y := h - 1; y >= 0; y-- {
			for i := range n {
				if !b[y*w+x0+i] {
					last[i] = y
				}
				b[y*w+x0+i] = min(dl[y*n+i], last[i]-y) > r
			}
		}
	})
}
