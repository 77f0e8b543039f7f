package matte

import (
	"image"
	"math"
	"testing"
)

func TestEstimateForegroundRecoversF(t *testing.T) {
	bl := rampBlend(t, 80, 40, 20, 60, 0)
	a := image.NewGray(bl.img.Rect)
	for i, v := range bl.alpha {
		a.Pix[i] = uint8(math.Round(v * 255))
	}
	fg := EstimateForeground(bl.img, a)
	want := []uint8{bl.f.R, bl.f.G, bl.f.B}
	var sum, worst float64
	n := 0
	for i, v := range bl.alpha {
		if v < 0.2 {
			continue // F is ill-determined where the pixel is almost all background
		}
		for c := range 3 {
			d := math.Abs(float64(fg.Pix[4*i+c])-float64(want[c])) / 255
			sum += d
			worst = max(worst, d)
			n++
		}
		if fg.Pix[4*i+3] != 255 {
			t.Fatal("foreground not opaque")
		}
	}
	t.Logf("mean abs colour error %.4f, worst %.4f", sum/float64(n), worst)
	if sum/float64(n) > 0.01 || worst > 0.06 {
		t.Errorf("mean abs colour error %.4f, worst %.4f; want <= 0.01 and 0.06", sum/float64(n), worst)
	}
	// Without estimation the colours of the ramp are far from F: the test can fail.
	var raw float64
	for i, v := range bl.alpha {
		if v >= 0.2 && v < 0.8 {
			raw = max(raw, math.Abs(float64(bl.img.Pix[4*i])-float64(want[0]))/255)
		}
	}
	if raw < 0.2 {
		t.Fatalf("fixture too easy: raw colour error only %.3f", raw)
	}
}

func TestEstimateForegroundBounds(t *testing.T) {
	for _, sz := range [][2]int{{1, 1}, {1, 5}, {5, 1}, {3, 2}, {13, 7}} {
		img, m := randomImage(sz[0], sz[1], 7)
		fg := EstimateForeground(img, m)
		if fg.Rect != img.Rect {
			t.Fatalf("%v: bounds %v", sz, fg.Rect)
		}
		for i := range m.Pix {
			if m.Pix[i] == 255 && [3]uint8(fg.Pix[4*i:4*i+3]) != [3]uint8(img.Pix[4*i:4*i+3]) {
				t.Fatalf("%v: opaque pixel %d changed colour", sz, i)
			}
		}
	}
}

func BenchmarkEstimateForeground(b *testing.B) {
	for _, sz := range []struct {
		name string
		w, h int
	}{{"1280px", 1280, 960}, {"1MP", 1155, 866}, {"12MP", 4000, 3000}} {
		img, m := photoLike(sz.w, sz.h)
		b.Run(sz.name, func(b *testing.B) {
			for b.Loop() {
				EstimateForeground(img, m)
			}
		})
	}
}
