package ui

import "testing"

// TestBoxReduce: every output is the rounded mean of its k×k block (narrower at the right and
// bottom edges), for grey, RGB and RGBA pixels.
func TestBoxReduce(t *testing.T) {
	for _, ch := range []int{1, 3, 4} {
		sw, sh, k := 11, 7, 3
		src := make([]uint8, sw*sh*ch)
		for i := range src {
			src[i] = uint8(i*37 + i/5)
		}
		out, bw, bh := boxReduce(src, sw, sh, ch, k)
		if bw != 4 || bh != 3 {
			t.Fatalf("ch %d: %d×%d, want 4×3", ch, bw, bh)
		}
		for by := 0; by < bh; by++ {
			for bx := 0; bx < bw; bx++ {
				for c := 0; c < ch; c++ {
					var sum, n int
					for y := by * k; y < min((by+1)*k, sh); y++ {
						for x := bx * k; x < min((bx+1)*k, sw); x++ {
							sum += int(src[(y*sw+x)*ch+c])
							n++
						}
					}
					if got, want := out[(by*bw+bx)*ch+c], uint8((sum+n/2)/n); got != want {
						t.Fatalf("ch %d block (%d,%d) channel %d = %d, want %d", ch, bx, by, c, got, want)
					}
				}
			}
		}
	}
}
