package app

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"strconv"
	"strings"

	"github.com/disintegration/imaging"
)

// Frame places the finished cut-out on its final canvas: cropped to the subject, with a
// margin, scaled to fit a fixed canvas — what shops publish (a product centred on a 2000 ×
// 2000 square with 5 % around it).
type Frame struct {
	// Crop trims the image to the subject: the bounding box of the pixels whose alpha is over
	// cropThreshold, leaving out specks much smaller than the subject.
	Crop bool
	// Margin is kept around the subject: MarginPx pixels, or MarginPct percent of the
	// output's longer side (of the canvas when there is one).
	MarginPx  int
	MarginPct float64
	// Canvas, when not empty, is the output's size: the subject is scaled to fit inside it
	// less the margin, and centred.
	Canvas image.Point
}

// IsZero reports whether f leaves the image as it is.
func (f Frame) IsZero() bool { return f == Frame{} }

// cropThreshold is the alpha over which a pixel counts as the subject's.
const cropThreshold = 16

// ParseMargin reads --margin: "5%" or "40px" (or "40").
func ParseMargin(s string) (px int, pct float64, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, 0, nil
	}
	if v, ok := strings.CutSuffix(s, "%"); ok {
		p, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || p < 0 || p >= 50 || math.IsNaN(p) {
			return 0, 0, fmt.Errorf("margin %q: a percentage from 0 to under 50 is needed", s)
		}
		return 0, p, nil
	}
	n, err := strconv.Atoi(strings.TrimSuffix(s, "px"))
	if err != nil || n < 0 || n > 10000 {
		return 0, 0, fmt.Errorf("margin %q: use pixels (40px) or a percentage (5%%)", s)
	}
	return n, 0, nil
}

// ParseCanvas reads --canvas WxH.
func ParseCanvas(s string) (image.Point, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return image.Point{}, nil
	}
	ws, hs, ok := strings.Cut(strings.ToLower(s), "x")
	w, err1 := strconv.Atoi(ws)
	h, err2 := strconv.Atoi(hs)
	if !ok || err1 != nil || err2 != nil || w < 1 || h < 1 || w > 16384 || h > 16384 {
		return image.Point{}, fmt.Errorf("canvas %q: use WIDTHxHEIGHT in pixels, each 1 to 16384 (e.g. 2000x2000)", s)
	}
	return image.Pt(w, h), nil
}

// apply frames img, the finished cut-out (NRGBA; opaque when composited over a colour), on
// a canvas filled with bg (transparent for a cut-out, the background colour otherwise).
// alpha is the matte the subject is found in.
func (f Frame) apply(img *image.NRGBA, alpha func(x, y int) uint8, bg color.NRGBA) *image.NRGBA {
	if f.IsZero() {
		return img
	}
	sub := img.Rect
	if f.Crop {
		if b, ok := subjectBounds(img.Rect, alpha); ok {
			sub = b
		}
	}
	part := img.SubImage(sub).(*image.NRGBA)
	sw, sh := sub.Dx(), sub.Dy()
	if f.Canvas == (image.Point{}) {
		m := f.MarginPx
		if f.MarginPct > 0 {
			// The percentage is of the output's longer side: m = pct·(longer + 2m).
			longer := float64(max(sw, sh))
			m = int(math.Round(f.MarginPct / 100 * longer / (1 - 2*f.MarginPct/100)))
		}
		out := filled(sw+2*m, sh+2*m, bg)
		draw.Draw(out, image.Rect(m, m, m+sw, m+sh), part, sub.Min, draw.Over)
		return out
	}
	cw, ch := f.Canvas.X, f.Canvas.Y
	m := f.MarginPx
	if f.MarginPct > 0 {
		m = int(math.Round(f.MarginPct / 100 * float64(max(cw, ch))))
	}
	bw, bh := max(1, cw-2*m), max(1, ch-2*m)
	scale := math.Min(float64(bw)/float64(sw), float64(bh)/float64(sh))
	tw, th := max(1, int(math.Round(float64(sw)*scale))), max(1, int(math.Round(float64(sh)*scale)))
	scaled := part
	if tw != sw || th != sh {
		scaled = imaging.Resize(part, tw, th, imaging.Lanczos)
	}
	out := filled(cw, ch, bg)
	x0, y0 := (cw-tw)/2, (ch-th)/2
	draw.Draw(out, image.Rect(x0, y0, x0+tw, y0+th), scaled, scaled.Rect.Min, draw.Over)
	return out
}

// filled is a w × h image of colour c.
func filled(w, h int, c color.NRGBA) *image.NRGBA {
	out := image.NewNRGBA(image.Rect(0, 0, w, h))
	if c.A == 0 {
		return out
	}
	px := []uint8{c.R, c.G, c.B, c.A}
	for i := 0; i < len(out.Pix); i += 4 {
		copy(out.Pix[i:i+4], px)
	}
	return out
}

// subjectBounds is the bounding box of the subject in the matte: the connected regions of
// alpha over cropThreshold, found on a coarse grid (cells of k × k pixels), leaving out those
// under 1 % of the largest region's area (dust, a stray hair far off, compression noise),
// then tightened to the exact pixels inside the kept cells. It reports false when nothing is
// opaque enough.
func subjectBounds(r image.Rectangle, alpha func(x, y int) uint8) (image.Rectangle, bool) {
	w, h := r.Dx(), r.Dy()
	k := max(1, max(w, h)/512)
	gw, gh := (w+k-1)/k, (h+k-1)/k
	cells := make([]int32, gw*gh) // opaque pixels per cell
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if alpha(r.Min.X+x, r.Min.Y+y) > cropThreshold {
				cells[(y/k)*gw+x/k]++
			}
		}
	}
	// Label the occupied cells (4-connected) and weigh each region by its pixels.
	label := make([]int32, len(cells))
	var weight []int64
	stack := []int{}
	for i, n := range cells {
		if n == 0 || label[i] != 0 {
			continue
		}
		id := int32(len(weight) + 1)
		weight = append(weight, 0)
		label[i] = id
		stack = append(stack[:0], i)
		for len(stack) > 0 {
			c := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			weight[id-1] += int64(cells[c])
			cx, cy := c%gw, c/gw
			for _, d := range [4][2]int{{1, 0}, {-1, 0}, {0, 1}, {0, -1}} {
				nx, ny := cx+d[0], cy+d[1]
				if nx < 0 || ny < 0 || nx >= gw || ny >= gh {
					continue
				}
				if j := ny*gw + nx; cells[j] > 0 && label[j] == 0 {
					label[j] = id
					stack = append(stack, j)
				}
			}
		}
	}
	if len(weight) == 0 {
		return image.Rectangle{}, false
	}
	var largest int64
	for _, v := range weight {
		largest = max(largest, v)
	}
	minX, minY, maxX, maxY := w, h, -1, -1
	for i, id := range label {
		if id == 0 || weight[id-1]*100 < largest {
			continue
		}
		cx, cy := i%gw, i/gw
		for y := cy * k; y < min((cy+1)*k, h); y++ {
			for x := cx * k; x < min((cx+1)*k, w); x++ {
				if alpha(r.Min.X+x, r.Min.Y+y) > cropThreshold {
					minX, minY, maxX, maxY = min(minX, x), min(minY, y), max(maxX, x), max(maxY, y)
				}
			}
		}
	}
	return image.Rect(r.Min.X+minX, r.Min.Y+minY, r.Min.X+maxX+1, r.Min.Y+maxY+1), true
}
