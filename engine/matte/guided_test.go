package matte

import (
	"fmt"
	"image"
	"math"
	"testing"
)

// edgeScene is a w×h guide with a vertical colour edge at x = w/2 and a mask that is a blurry
// ramp across it, as a low-resolution model would give.
func edgeScene(w, h, blur int) (*image.NRGBA, *image.Gray, []float64) {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	m := image.NewGray(img.Rect)
	truth := make([]float64, w*h)
	for y := range h {
		for x := range w {
			i := y*w + x
			c := []uint8{30, 60, 200}
			if x >= w/2 {
				c = []uint8{220, 180, 40}
				truth[i] = 1
			}
			copy(img.Pix[4*i:], c)
			img.Pix[4*i+3] = 255
			t := (float64(x-w/2+blur) + 0.5) / float64(2*blur)
			m.Pix[i] = uint8(255 * min(1, max(0, t)))
		}
	}
	return img, m, truth
}

func TestGuidedFilterSharpensEdge(t *testing.T) {
	// The mask ramps over 12 px across a colour edge: the filtered mask must jump at the edge
	// (the guide's structure is transferred) and stay flat away from it.
	for _, r := range []int{2, 4, 8, 16} {
		t.Run(fmt.Sprint(r), func(t *testing.T) {
			img, m, _ := edgeScene(96, 40, 6)
			q := GuidedFilter(img, m, r, 1e-4)
			row := q.Pix[20*96 : 21*96]
			jump := float64(row[48]) - float64(row[47])
			before := float64(m.Pix[20*96+48]) - float64(m.Pix[20*96+47])
			if want := max(2*before, min(160, float64(r)*16)); jump < want {
				t.Errorf("jump at the edge %v (mask's %v), want >= %v", jump, before, want)
			}
			if row[0] != 0 || row[95] != 255 {
				t.Errorf("far pixels %d %d, want 0 and 255", row[0], row[95])
			}
			if s := int(row[48]) + int(row[47]); s < 250 || s > 260 {
				t.Errorf("edge not centred: %d + %d", row[47], row[48])
			}
		})
	}
}

func TestGuidedFilterFlatGuideSmooths(t *testing.T) {
	// With a flat guide the filter is a (double) box blur: a constant source stays constant
	// and an impulse spreads symmetrically.
	img := image.NewNRGBA(image.Rect(0, 0, 31, 31))
	for i := range img.Pix {
		img.Pix[i] = 128
	}
	src := image.NewGray(img.Rect)
	for i := range src.Pix {
		src.Pix[i] = 77
	}
	q := GuidedFilter(img, src, 3, 1e-3)
	for i, v := range q.Pix {
		if v != 77 {
			t.Fatalf("constant source changed at %d: %d", i, v)
		}
	}
	src.Pix[15*31+15] = 255
	q = GuidedFilter(img, src, 2, 1e-3)
	if q.Pix[15*31+15] == 255 || q.Pix[15*31+14] != q.Pix[15*31+16] || q.Pix[14*31+15] != q.Pix[16*31+15] {
		t.Error("impulse not spread symmetrically")
	}
}

func TestGuidedFilterBounds(t *testing.T) {
	for _, sz := range [][2]int{{1, 1}, {1, 9}, {9, 1}, {3, 2}, {17, 5}} {
		for _, r := range []int{0, 1, 3, 20} {
			img, m := randomImage(sz[0], sz[1], uint64(r))
			q := GuidedFilter(img, m, r, 1e-6)
			if q.Rect != m.Rect {
				t.Fatalf("%v r=%d: bounds %v", sz, r, q.Rect)
			}
		}
	}
}

func TestGuidedFilterSubImage(t *testing.T) {
	img, m, _ := edgeScene(64, 32, 4)
	r := image.Rect(8, 4, 40, 28)
	sub := GuidedFilter(img.SubImage(r).(*image.NRGBA), m.SubImage(r).(*image.Gray), 3, 1e-4)
	if sub.Rect != r {
		t.Fatalf("bounds %v, want %v", sub.Rect, r)
	}
	// The same crop as a fresh, tight image gives the same pixels.
	ci := image.NewNRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	cm := image.NewGray(ci.Rect)
	for y := range r.Dy() {
		for x := range r.Dx() {
			ci.SetNRGBA(x, y, img.NRGBAAt(x+r.Min.X, y+r.Min.Y))
			cm.SetGray(x, y, m.GrayAt(x+r.Min.X, y+r.Min.Y))
		}
	}
	want := GuidedFilter(ci, cm, 3, 1e-4)
	for y := range r.Dy() {
		for x := range r.Dx() {
			if g, w := sub.GrayAt(x+r.Min.X, y+r.Min.Y), want.GrayAt(x, y); g != w {
				t.Fatalf("(%d,%d): %d, want %d", x, y, g.Y, w.Y)
			}
		}
	}
}

func BenchmarkGuidedFilter(b *testing.B) {
	for _, sz := range []struct {
		name string
		w, h int
	}{{"1MP", 1155, 866}, {"12MP", 4000, 3000}} {
		img, m := photoLike(sz.w, sz.h)
		r := guidedRadius(0, img.Rect)
		b.Run(sz.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				GuidedFilter(img, m, r, 1e-4)
			}
			mp := float64(sz.w*sz.h) / 1e6
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N)/mp, "ms/MP")
		})
	}
}

// guidedExact is a slow direct implementation (no subsampling) used to check the fast path.
func TestGuidedFilterSubsampledCloseToExact(t *testing.T) {
	img, m := photoLike(200, 160)
	fast := GuidedFilter(img, m, 8, 1e-3) // s = 2
	gp, w, h := nrgbaPix(img)
	sp, _, _ := grayPix(m)
	exact := make([]uint8, w*h)
	a := guidedCoefficients(blockMean(gp, sp, w, h, 1), w, h, 8, 1e-3)
	applyCoefficients(a, gp, w, h, w, h, 1, exact)
	var s float64
	for i := range exact {
		s += math.Abs(float64(exact[i]) - float64(fast.Pix[i]))
	}
	if mean := s / float64(len(exact)) / 255; mean > 0.01 {
		t.Errorf("subsampled filter differs from exact by %.4f on average", mean)
	}
}
