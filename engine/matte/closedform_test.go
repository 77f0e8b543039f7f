package matte

import (
	"fmt"
	"image"
	"math"
	"testing"
)

func TestClosedFormRecoversRamp(t *testing.T) {
	for _, tc := range []struct {
		name    string
		precond Preconditioner
	}{{"ic0", PrecondIC0}, {"jacobi", PrecondJacobi}, {"auto", PrecondAuto}} {
		t.Run(tc.name, func(t *testing.T) {
			bl := rampBlend(t, 64, 48, 20, 44, 3)
			a, st, err := closedForm(bl.img, bl.tri, CFOptions{Precond: tc.precond, Tolerance: 1e-6, MaxIter: 20000})
			if err != nil {
				t.Fatal(err)
			}
			tri, _, _ := grayPix(bl.tri)
			mae := meanAbs(a, bl.alpha, func(i int) bool { return tri[i] == TrimapUnknown })
			t.Logf("unknowns %d, iterations %d, residual %.2g, mean abs error %.4f", st.unknowns, st.iters, st.residual, mae)
			if mae > 0.02 {
				t.Errorf("mean abs error in the unknown band = %.4f, want <= 0.02", mae)
			}
		})
	}
}

func TestClosedFormKeepsKnownPixels(t *testing.T) {
	bl := rampBlend(t, 40, 30, 10, 30, 2)
	a, err := ClosedForm(bl.img, bl.tri, CFOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tri, _, _ := grayPix(bl.tri)
	p, _, _ := grayPix(a)
	for i, v := range tri {
		if v != TrimapUnknown && p[i] != v {
			t.Fatalf("pixel %d: known %d became %d", i, v, p[i])
		}
	}
}

func TestClosedFormBounds(t *testing.T) {
	for _, sz := range [][2]int{{1, 1}, {1, 7}, {7, 1}, {3, 2}, {2, 3}, {3, 3}, {5, 4}, {17, 13}, {33, 1}} {
		for _, all := range []bool{false, true} {
			t.Run(fmt.Sprintf("%dx%d/allUnknown=%v", sz[0], sz[1], all), func(t *testing.T) {
				img, m := randomImage(sz[0], sz[1], uint64(sz[0]*100+sz[1]))
				tri := Trimap(m, 200, 50, 0)
				if all {
					for i := range tri.Pix {
						tri.Pix[i] = TrimapUnknown
					}
				}
				for _, pc := range []Preconditioner{PrecondJacobi, PrecondIC0} {
					a, err := ClosedForm(img, tri, CFOptions{Precond: pc, Prior: m})
					if err != nil {
						t.Fatal(err)
					}
					if a.Rect != img.Rect {
						t.Fatalf("bounds %v, want %v", a.Rect, img.Rect)
					}
				}
			})
		}
	}
}

func TestClosedFormSizeMismatch(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 4, 4))
	if _, err := ClosedForm(img, image.NewGray(image.Rect(0, 0, 4, 5)), CFOptions{}); err == nil {
		t.Error("no error for a trimap of another size")
	}
}

func TestInvSym3(t *testing.T) {
	c := [6]float64{4, 1, 0.5, 3, 0.2, 2}
	inv := invSym3(c)
	m := [3][3]float64{{c[0], c[1], c[2]}, {c[1], c[3], c[4]}, {c[2], c[4], c[5]}}
	n := [3][3]float64{{inv[0], inv[1], inv[2]}, {inv[1], inv[3], inv[4]}, {inv[2], inv[4], inv[5]}}
	for i := range 3 {
		for j := range 3 {
			var s float64
			for k := range 3 {
				s += m[i][k] * n[k][j]
			}
			want := 0.0
			if i == j {
				want = 1
			}
			if math.Abs(s-want) > 1e-12 {
				t.Errorf("(A A⁻¹)[%d][%d] = %g, want %g", i, j, s, want)
			}
		}
	}
}

// benchCF is a 1000×750 working image with a ~10% unknown band.
func benchCF(b *testing.B) (*image.NRGBA, *image.Gray, *image.Gray) {
	img, m := photoLike(1000, 750)
	tri := Trimap(m, 240, 10, 10)
	n := 0
	for _, v := range tri.Pix {
		if v == TrimapUnknown {
			n++
		}
	}
	b.Logf("unknown band: %.1f%% of %d px", 100*float64(n)/float64(len(tri.Pix)), len(tri.Pix))
	return img, m, tri
}

func BenchmarkClosedForm(b *testing.B) {
	img, m, tri := benchCF(b)
	for _, pc := range []struct {
		name string
		p    Preconditioner
	}{{"jacobi", PrecondJacobi}, {"ic0", PrecondIC0}} {
		b.Run(pc.name, func(b *testing.B) {
			for _, tol := range []float64{1e-4, 1e-5} {
				b.Run(fmt.Sprintf("tol%g", tol), func(b *testing.B) {
					var st cfStats
					for b.Loop() {
						_, st, _ = closedForm(img, tri, CFOptions{Precond: pc.p, Prior: m, Tolerance: tol})
					}
					b.ReportMetric(float64(st.iters), "iters")
				})
			}
		})
	}
}

// BenchmarkThreshold is the baseline: the cost of just thresholding the raw mask.
func BenchmarkThreshold(b *testing.B) {
	_, m, _ := benchCF(b)
	for b.Loop() {
		Trimap(m, 127, 127, 0)
	}
}

func BenchmarkClosedFormAndForeground(b *testing.B) {
	img, m, _ := benchCF(b)
	o := DefaultOptionsFor(RefineClosedForm)
	o.Erode = 20 // radius 10: the same ~10% band as BenchmarkClosedForm
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Finish(img, m, nil, o); err != nil {
			b.Fatal(err)
		}
	}
}
