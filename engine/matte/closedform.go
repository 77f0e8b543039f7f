package matte

import (
	"errors"
	"fmt"
	"image"
	"math"

	"cutout/internal/parallel"
)

// Preconditioner selects the preconditioner of ClosedForm's conjugate-gradient solve.
type Preconditioner int

// The preconditioners. PrecondAuto is the one that measured fastest (see BenchmarkClosedForm).
const (
	PrecondAuto   Preconditioner = iota // the default: currently PrecondIC0
	PrecondJacobi                       // diagonal scaling: cheap, parallel, many iterations
	PrecondIC0                          // incomplete Cholesky with the Laplacian's own sparsity
)

// CFOptions tunes ClosedForm; the zero value means the defaults.
type CFOptions struct {
	// Epsilon regularises each window's colour covariance (default 1e-7, as Levin et al.).
	Epsilon float64
	// Tolerance is the relative residual |r|/|b| at which the solve stops (default 1e-4: on the
	// lemur composites the SAD at 1e-4 and 1e-5 agree within 2%, in half the iterations).
	Tolerance float64
	// MaxIter bounds the conjugate-gradient iterations (default 2000).
	MaxIter int
	// Precond selects the preconditioner (default PrecondAuto).
	Precond Preconditioner
	// Prior, if set (same size as the image), is the model's soft mask: it is the starting
	// guess and a weak data term that decides pixels the image cannot (default 0.5 everywhere).
	Prior *image.Gray
	// PriorWeight is the weight of that data term relative to the Laplacian (default 1e-6,
	// which only keeps the system definite; raise it to trust the prior more).
	PriorWeight float64
}

// cfStats reports how a solve went; benchmarks and tests read it.
type cfStats struct {
	unknowns, iters int
	residual        float64
}

func (o CFOptions) withDefaults() CFOptions {
	if o.Epsilon <= 0 {
		o.Epsilon = 1e-7
	}
	if o.Tolerance <= 0 {
		o.Tolerance = 1e-4
	}
	if o.MaxIter <= 0 {
		o.MaxIter = 2000
	}
	if o.Precond == PrecondAuto {
		o.Precond = PrecondIC0
	}
	if o.PriorWeight <= 0 {
		o.PriorWeight = 1e-6
	}
	return o
}

// ClosedForm solves for the alpha matte of img given a trimap (255 foreground, 0 background,
// anything else unknown), after Levin, Lischinski and Weiss, "A Closed-Form Solution to Natural
// Image Matting" (2008): the matting Laplacian L over 3×3 windows, and L_uu α_u = −L_uk α_k
// for the unknown pixels, solved by preconditioned conjugate gradients. Only the rows of
// unknown pixels are built, so memory follows the unknown band, not the image. The result,
// with img's bounds, is the trimap where certain and the clamped solution elsewhere.
func ClosedForm(img *image.NRGBA, trimap *image.Gray, opt CFOptions) (*image.Gray, error) {
	a, _, err := closedForm(img, trimap, opt)
	return a, err
}

func closedForm(img *image.NRGBA, trimap *image.Gray, opt CFOptions) (*image.Gray, cfStats, error) {
	if img.Rect.Size() != trimap.Rect.Size() {
		return nil, cfStats{}, fmt.Errorf("closed-form matting: image is %v but trimap is %v", img.Rect.Size(), trimap.Rect.Size())
	}
	if opt.Prior != nil && opt.Prior.Rect.Size() != img.Rect.Size() {
		return nil, cfStats{}, fmt.Errorf("closed-form matting: image is %v but prior is %v", img.Rect.Size(), opt.Prior.Rect.Size())
	}
	pix, w, h := nrgbaPix(img)
	tri, _, _ := grayPix(trimap)
	var prior []float32
	if opt.Prior != nil {
		p, _, _ := grayPix(opt.Prior)
		prior = grayFloat(p)
	}
	alpha, st := solveAlpha(rgbFloat(pix, w*h), tri, prior, w, h, opt.withDefaults())
	out := make([]uint8, w*h)
	parallel.For(len(out), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			out[i] = to8(alpha[i])
		}
	})
	return newGray(img.Rect, out), st, nil
}

// errNotPD reports that a factorisation met a non-positive pivot.
var errNotPD = errors.New("matrix is not positive definite")

// The 5×5 stencil: entry s of a row couples pixel (x, y) with (x+s%5-2, y+s/5-2). Unknown pixels
// are numbered in raster order, so s < centre are earlier unknowns and s > centre later ones.
const (
	stencil = 25
	centre  = 12
)

// system is L_uu (plus the prior's diagonal) and its right-hand side, one stencil row per
// unknown pixel. Missing neighbours have value 0 and point at the row itself, so products need
// no branches.
type system struct {
	n    int
	val  []float64 // n*stencil
	col  []int32   // n*stencil
	b    []float64
	x0   []float64 // starting guess
	unkX []int32   // pixel of each unknown
	unkY []int32
}

// solveAlpha returns alpha in [0,1] for every pixel: the trimap where certain, the solve
// elsewhere.
func solveAlpha(rgb []float32, tri []uint8, prior []float32, w, h int, opt CFOptions) ([]float32, cfStats) {
	alpha := make([]float32, w*h)
	idx := make([]int32, w*h)
	n := 0
	for i, t := range tri {
		switch t {
		case TrimapForeground:
			alpha[i], idx[i] = 1, -1
		case TrimapBackground:
			alpha[i], idx[i] = 0, -1
		default:
			idx[i] = int32(n)
			n++
		}
	}
	st := cfStats{unknowns: n}
	if n == 0 {
		return alpha, st
	}
	sys := buildSystem(rgb, alpha, idx, prior, w, h, n, opt)
	x := make([]float64, n)
	copy(x, sys.x0)
	st.iters, st.residual = pcg(sys, x, opt)
	for u := range n {
		v := x[u]
		if math.IsNaN(v) {
			v = sys.x0[u]
		}
		alpha[int(sys.unkY[u])*w+int(sys.unkX[u])] = float32(min(1, max(0, v)))
	}
	return alpha, st
}

// buildSystem assembles the unknown rows of the matting Laplacian in parallel. Each row gathers
// the contributions of the (up to) nine 3×3 windows that contain its pixel, recomputing each
// window's mean and inverse covariance: that costs some repeated arithmetic but needs no storage
// for windows and no synchronisation between rows.
func buildSystem(rgb, alpha []float32, idx []int32, prior []float32, w, h, n int, opt CFOptions) *system {
	sys := &system{
		n: n, val: make([]float64, n*stencil), col: make([]int32, n*stencil),
		b: make([]float64, n), x0: make([]float64, n),
		unkX: make([]int32, n), unkY: make([]int32, n),
	}
	for i, u := range idx {
		if u >= 0 {
			sys.unkX[u], sys.unkY[u] = int32(i%w), int32(i/w)
		}
	}
	epsW := opt.Epsilon / 9
	parallel.For(n, func(lo, hi int) {
		for u := lo; u < hi; u++ {
			x, y := int(sys.unkX[u]), int(sys.unkY[u])
			row := sys.val[u*stencil : (u+1)*stencil]
			cols := sys.col[u*stencil : (u+1)*stencil]
			for s := range cols {
				cols[s] = int32(u)
				jx, jy := x+s%5-2, y+s/5-2
				if jx >= 0 && jx < w && jy >= 0 && jy < h && idx[jy*w+jx] >= 0 {
					cols[s] = idx[jy*w+jx]
				}
			}
			ci := y*w + x
			var b float64
			for cy := max(1, y-1); cy <= min(h-2, y+1); cy++ {
				for cx := max(1, x-1); cx <= min(w-2, x+1); cx++ {
					b += addWindow(row, rgb, alpha, idx, w, cx, cy, x, y, ci, epsW)
				}
			}
			pw, p := opt.PriorWeight, float64(0.5)
			if prior != nil {
				p = float64(prior[ci])
			}
			row[centre] += pw
			sys.b[u] = b + pw*p
			sys.x0[u] = p
		}
	})
	return sys
}

// addWindow adds to row (the stencil row of pixel (x, y), flat index ci) the terms of the 3×3
// window centred at (cx, cy), and returns the window's contribution to the right-hand side,
// −Σ L_ij α_j over its known pixels j.
func addWindow(row []float64, rgb, alpha []float32, idx []int32, w, cx, cy, x, y, ci int, epsW float64) float64 {
	var mu [3]float64
	var c [6]float64 // xx xy xz yy yz zz
	for dy := -1; dy <= 1; dy++ {
		for dx := -1; dx <= 1; dx++ {
			p := rgb[3*((cy+dy)*w+cx+dx):]
			r, g, b := float64(p[0]), float64(p[1]), float64(p[2])
			mu[0] += r
			mu[1] += g
			mu[2] += b
			c[0] += r * r
			c[1] += r * g
			c[2] += r * b
			c[3] += g * g
			c[4] += g * b
			c[5] += b * b
		}
	}
	for k := range mu {
		mu[k] /= 9
	}
	c[0] = c[0]/9 - mu[0]*mu[0] + epsW
	c[1] = c[1]/9 - mu[0]*mu[1]
	c[2] = c[2]/9 - mu[0]*mu[2]
	c[3] = c[3]/9 - mu[1]*mu[1] + epsW
	c[4] = c[4]/9 - mu[1]*mu[2]
	c[5] = c[5]/9 - mu[2]*mu[2] + epsW
	inv := invSym3(c)
	// d = inv * (I_i - mu), so the term for j is (1 + d·(I_j - mu)) / 9.
	pi := rgb[3*ci:]
	e0, e1, e2 := float64(pi[0])-mu[0], float64(pi[1])-mu[1], float64(pi[2])-mu[2]
	d0 := inv[0]*e0 + inv[1]*e1 + inv[2]*e2
	d1 := inv[1]*e0 + inv[3]*e1 + inv[4]*e2
	d2 := inv[2]*e0 + inv[4]*e1 + inv[5]*e2
	var rhs float64
	for dy := -1; dy <= 1; dy++ {
		for dx := -1; dx <= 1; dx++ {
			j := (cy+dy)*w + cx + dx
			p := rgb[3*j:]
			v := -(1 + d0*(float64(p[0])-mu[0]) + d1*(float64(p[1])-mu[1]) + d2*(float64(p[2])-mu[2])) / 9
			if j == ci {
				v++
			}
			if idx[j] >= 0 {
				row[(cy+dy-y+2)*5+cx+dx-x+2] += v
			} else {
				rhs -= v * float64(alpha[j])
			}
		}
	}
	return rhs
}

// invSym3 inverts a symmetric positive definite 3×3 matrix stored as xx xy xz yy yz zz.
func invSym3(c [6]float64) [6]float64 {
	a00 := c[3]*c[5] - c[4]*c[4]
	a01 := c[2]*c[4] - c[1]*c[5]
	a02 := c[1]*c[4] - c[2]*c[3]
	det := c[0]*a00 + c[1]*a01 + c[2]*a02
	if !(det > 0) || math.IsInf(det, 0) {
		return [6]float64{}
	}
	k := 1 / det
	return [6]float64{
		a00 * k, a01 * k, a02 * k,
		(c[0]*c[5] - c[2]*c[2]) * k,
		(c[1]*c[2] - c[0]*c[4]) * k,
		(c[0]*c[3] - c[1]*c[1]) * k,
	}
}

// mul computes y = A x in parallel.
func (s *system) mul(x, y []float64) {
	parallel.For(s.n, func(lo, hi int) {
		for u := lo; u < hi; u++ {
			row := s.val[u*stencil : (u+1)*stencil]
			cols := s.col[u*stencil : (u+1)*stencil]
			var v float64
			for k, a := range row {
				v += a * x[cols[k]]
			}
			y[u] = v
		}
	})
}

// preconditioner applies z = M⁻¹ r.
type preconditioner interface{ apply(r, z []float64) }

// jacobi is M = diag(A).
type jacobi struct{ inv []float64 }

func newJacobi(s *system) *jacobi {
	j := &jacobi{inv: make([]float64, s.n)}
	for u := range s.n {
		if d := s.val[u*stencil+centre]; d > 0 {
			j.inv[u] = 1 / d
		} else {
			j.inv[u] = 1
		}
	}
	return j
}

func (j *jacobi) apply(r, z []float64) {
	parallel.For(len(r), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			z[i] = r[i] * j.inv[i]
		}
	})
}

// pcg solves A x = b in place from the starting x, returning iterations and relative residual.
func pcg(s *system, x []float64, opt CFOptions) (int, float64) {
	var m preconditioner
	if opt.Precond == PrecondJacobi {
		m = newJacobi(s)
	} else if ic, err := newIC0(s); err == nil {
		m = ic
	} else {
		m = newJacobi(s)
	}
	n := s.n
	r, z, p, ap := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	s.mul(x, ap)
	for i := range r {
		r[i] = s.b[i] - ap[i]
	}
	bnorm := math.Sqrt(dot(s.b, s.b))
	if bnorm < 1e-300 {
		bnorm = 1
	}
	res := math.Sqrt(dot(r, r)) / bnorm
	if res <= opt.Tolerance {
		return 0, res
	}
	m.apply(r, z)
	copy(p, z)
	rz := dot(r, z)
	for it := 1; it <= opt.MaxIter; it++ {
		s.mul(p, ap)
		pap := dot(p, ap)
		if !(pap > 0) || math.IsInf(pap, 0) {
			return it, res
		}
		a := rz / pap
		rr := axpy2(a, p, ap, x, r)
		res = math.Sqrt(rr) / bnorm
		if res <= opt.Tolerance || math.IsNaN(res) {
			return it, res
		}
		m.apply(r, z)
		rzNew := dot(r, z)
		beta := rzNew / rz
		rz = rzNew
		parallel.For(n, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				p[i] = z[i] + beta*p[i]
			}
		})
	}
	return opt.MaxIter, res
}

// dot is a reproducible parallel dot product.
func dot(a, b []float64) float64 {
	k := parallel.Procs()
	part := make([]float64, k)
	parallel.Bands(len(a), k, func(band, lo, hi int) {
		var s float64
		for i := lo; i < hi; i++ {
			s += a[i] * b[i]
		}
		part[band] = s
	})
	var s float64
	for _, v := range part {
		s += v
	}
	return s
}

// axpy2 does x += a p and r -= a ap, returning r·r.
func axpy2(a float64, p, ap, x, r []float64) float64 {
	k := parallel.Procs()
	part := make([]float64, k)
	parallel.Bands(len(x), k, func(band, lo, hi int) {
		var s float64
		for i := lo; i < hi; i++ {
			x[i] += a * p[i]
			r[i] -= a * ap[i]
			s += r[i] * r[i]
		}
		part[band] = s
	})
	var s float64
	for _, v := range part {
		s += v
	}
	return s
}

// ic0 is an incomplete Cholesky factor L (A ≈ L Lᵀ) with the sparsity of A's lower stencil:
// entries 0..centre of each row, the last one the diagonal.
type ic0 struct {
	s   *system
	l   []float64 // n*(centre+1)
	u   []float64 // n*centre: row i of Lᵀ beyond the diagonal, contiguous for the backward pass
	tmp []float64
}

// icPairs[s] lists, for lower stencil entry s of row i (the neighbour k), the pairs (t, v) such
// that the neighbour m at entry t of row i is entry v of row k, with m before k.
var icPairs = func() [centre][][2]int {
	var out [centre][][2]int
	for s := range centre {
		sx, sy := s%5-2, s/5-2
		for t := range centre {
			tx, ty := t%5-2, t/5-2
			dx, dy := tx-sx, ty-sy
			if dx < -2 || dx > 2 || dy < -2 || dy > 2 {
				continue
			}
			if v := (dy+2)*5 + dx + 2; v < centre {
				out[s] = append(out[s], [2]int{t, v})
			}
		}
	}
	return out
}()

// newIC0 factors A, shifting the diagonal (A + σ diag A) when a pivot fails, as is usual for
// matrices that are not M-matrices.
func newIC0(s *system) (*ic0, error) {
	const lw = centre + 1
	ic := &ic0{s: s, l: make([]float64, s.n*lw), tmp: make([]float64, s.n)}
	for _, shift := range []float64{0, 1e-4, 1e-3, 1e-2, 1e-1, 1} {
		if ic.factor(shift) == nil {
			ic.transpose()
			return ic, nil
		}
	}
	return nil, errNotPD
}

func (ic *ic0) factor(shift float64) error {
	const lw = centre + 1
	s := ic.s
	for i := range s.n {
		a := s.val[i*stencil : i*stencil+stencil]
		c := s.col[i*stencil : i*stencil+stencil]
		li := ic.l[i*lw : (i+1)*lw]
		var diag float64
		for e := range centre {
			k := int(c[e])
			if k == i {
				li[e] = 0
				continue
			}
			lk := ic.l[k*lw : (k+1)*lw]
			v := a[e]
			for _, tv := range icPairs[e] {
				v -= li[tv[0]] * lk[tv[1]]
			}
			v /= lk[centre]
			li[e] = v
			diag += v * v
		}
		d := a[centre]*(1+shift) - diag
		if !(d > 1e-12*a[centre]) {
			return errNotPD
		}
		li[centre] = math.Sqrt(d)
	}
	return nil
}

// transpose fills u: entry e-centre-1 of row i is L's entry (k, i) for the later neighbour k at
// stencil entry e of row i, which is entry stencil-1-e of row k.
func (ic *ic0) transpose() {
	const lw = centre + 1
	s := ic.s
	ic.u = make([]float64, s.n*centre)
	parallel.For(s.n, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			c := s.col[i*stencil:]
			for e := centre + 1; e < stencil; e++ {
				if k := int(c[e]); k != i {
					ic.u[i*centre+e-centre-1] = ic.l[k*lw+stencil-1-e]
				}
			}
		}
	})
}

// apply solves L Lᵀ z = r by a forward and a backward substitution (sequential).
func (ic *ic0) apply(r, z []float64) {
	const lw = centre + 1
	s, y := ic.s, ic.tmp
	for i := range s.n {
		li := ic.l[i*lw : (i+1)*lw]
		c := s.col[i*stencil:]
		v := r[i]
		for e := range centre {
			v -= li[e] * y[c[e]]
		}
		y[i] = v / li[centre]
	}
	for i := s.n - 1; i >= 0; i-- {
		c := s.col[i*stencil+centre+1 : (i+1)*stencil]
		ui := ic.u[i*centre : (i+1)*centre]
		v := y[i]
		for e, k := range c {
			v -= ui[e] * z[k] // missing neighbours have ui[e] = 0 and k = i
		}
		z[i] = v / ic.l[i*lw+centre]
	}
}
