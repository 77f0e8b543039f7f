package matte

import (
	"fmt"
	"image"
	"testing"
)

// square makes an n×n matte with a hard-edged opaque square [lo, hi)².
func square(n, lo, hi int) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, n, n))
	for y := lo; y < hi; y++ {
		for x := lo; x < hi; x++ {
			g.Pix[y*n+x] = 255
		}
	}
	return g
}

// extent returns the first and last opaque (> 127) x on row y.
func extent(g *image.Gray, y int) (int, int) {
	lo, hi := -1, -1
	for x := range g.Rect.Dx() {
		if g.Pix[y*g.Stride+x] > 127 {
			if lo < 0 {
				lo = x
			}
			hi = x
		}
	}
	return lo, hi
}

func TestShift(t *testing.T) {
	for _, tc := range []struct {
		px     int
		lo, hi int // expected extent of the middle row and column
	}{
		{0, 20, 39}, {1, 19, 40}, {3, 17, 42}, {10, 10, 49}, {-1, 21, 38}, {-4, 24, 35}, {-10, 30, 29 + 0},
	} {
		t.Run(fmt.Sprint(tc.px), func(t *testing.T) {
			g := Shift(square(60, 20, 40), tc.px)
			lo, hi := extent(g, 30)
			if tc.px == -10 { // the square disappears entirely
				if lo != -1 {
					t.Errorf("extent %d..%d, want empty", lo, hi)
				}
				return
			}
			if lo != tc.lo || hi != tc.hi {
				t.Errorf("row extent %d..%d, want %d..%d", lo, hi, tc.lo, tc.hi)
			}
			// Columns too (transpose by reading the middle column).
			top := -1
			for y := range 60 {
				if g.Pix[y*60+30] > 127 {
					top = y
					break
				}
			}
			if top != tc.lo {
				t.Errorf("column starts at %d, want %d", top, tc.lo)
			}
		})
	}
}

func TestShiftDiskCorners(t *testing.T) {
	// Growing a single pixel by r gives a disk: (r,0) is in, (r,r) is not (for r >= 2).
	g := image.NewGray(image.Rect(0, 0, 21, 21))
	g.Pix[10*21+10] = 255
	d := Shift(g, 5)
	if d.Pix[10*21+15] != 255 || d.Pix[15*21+10] != 255 || d.Pix[13*21+14] != 255 {
		t.Error("disk misses points within radius 5")
	}
	if d.Pix[15*21+15] != 0 || d.Pix[10*21+16] != 0 {
		t.Error("disk includes points beyond radius 5")
	}
}

func TestShiftKeepsSoftProfile(t *testing.T) {
	g := image.NewGray(image.Rect(0, 0, 20, 3))
	for y := range 3 {
		for x := range 20 {
			g.Pix[y*20+x] = uint8(min(255, max(0, (x-5)*50)))
		}
	}
	s := Shift(g, 2)
	for x := 2; x < 18; x++ {
		if s.Pix[20+x-2] != g.Pix[20+x] {
			t.Fatalf("shifted profile at %d = %d, want %d", x-2, s.Pix[20+x-2], g.Pix[20+x])
		}
	}
}

func TestFeatherSymmetric(t *testing.T) {
	for _, px := range []float64{1, 2.5, 6, 20} {
		t.Run(fmt.Sprint(px), func(t *testing.T) {
			g := image.NewGray(image.Rect(0, 0, 100, 4))
			for y := range 4 {
				for x := 50; x < 100; x++ {
					g.Pix[y*100+x] = 255
				}
			}
			f := Feather(g, px)
			row := f.Pix[200:300]
			if row[49] == 0 || row[50] == 255 {
				t.Errorf("edge not softened: %d %d", row[49], row[50])
			}
			for d := range 50 {
				if s := int(row[50+d]) + int(row[49-d]); s < 254 || s > 256 {
					t.Fatalf("asymmetric at ±%d: %d + %d", d, row[50+d], row[49-d])
				}
			}
			// Beyond ~1.5 px (3 sigma) nothing changes.
			far := int(1.5*px) + 2
			if row[49-far] != 0 || row[50+far] != 255 {
				t.Errorf("feather reaches %d px: %d %d", far, row[49-far], row[50+far])
			}
			for x := 1; x < 100; x++ {
				if row[x] < row[x-1] {
					t.Fatalf("not monotonic at %d", x)
				}
			}
		})
	}
}

func TestPostProcessMask(t *testing.T) {
	g := square(40, 10, 30)
	g.Pix[3*40+3] = 255   // a speck: removed by the opening
	g.Pix[20*40+20] = 0   // a pinhole: filled by blur and threshold
	g.Pix[20*40+30] = 255 // a one-pixel spur: removed
	for i := 0; i < 40*40; i += 7 {
		if g.Pix[i] == 255 {
			g.Pix[i] = 200 // soft values become binary
		}
	}
	p := PostProcessMask(g)
	if p.Pix[3*40+3] != 0 || p.Pix[20*40+20] != 255 || p.Pix[20*40+30] != 0 {
		t.Errorf("speck %d, pinhole %d, spur %d", p.Pix[3*40+3], p.Pix[20*40+20], p.Pix[20*40+30])
	}
	for i, v := range p.Pix {
		if v != 0 && v != 255 {
			t.Fatalf("pixel %d = %d, want binary", i, v)
		}
	}
	if lo, hi := extent(p, 20); lo != 10 || hi != 29 {
		t.Errorf("square edge moved: %d..%d", lo, hi)
	}
}

func BenchmarkFeather(b *testing.B) {
	for _, px := range []float64{2, 10} {
		b.Run(fmt.Sprintf("12MP/%gpx", px), func(b *testing.B) {
			_, m := photoLike(4000, 3000)
			b.ResetTimer()
			for b.Loop() {
				Feather(m, px)
			}
		})
	}
}

func BenchmarkShift(b *testing.B) {
	for _, px := range []int{3, -10} {
		b.Run(fmt.Sprintf("12MP/%dpx", px), func(b *testing.B) {
			_, m := photoLike(4000, 3000)
			b.ResetTimer()
			for b.Loop() {
				Shift(m, px)
			}
		})
	}
}

func BenchmarkPostProcessMask(b *testing.B) {
	_, m := photoLike(4000, 3000)
	b.ResetTimer()
	for b.Loop() {
		PostProcessMask(m)
	}
}
