// Package parallel runs loops over rows, pixels or strips on several goroutines, for all of
// Cutout's image work (finishing, resampling, colour conversion, PNG compression). It has one
// process-wide cap on the goroutines a loop uses, so that the app can keep image work from
// taking the cores the model runs on. It owns no image types and never blocks on anything
// but the loops it runs.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// maxProcs is the cap set by SetMaxProcs; 0 means runtime.GOMAXPROCS.
var maxProcs atomic.Int32

// SetMaxProcs caps the goroutines every loop of this package uses at once. n < 1 restores
// the default (runtime.GOMAXPROCS). It is safe to call at any time; running loops keep their
// count.
func SetMaxProcs(n int) {
	maxProcs.Store(int32(max(n, 0)))
}

// Procs is the number of goroutines a loop may use now.
func Procs() int {
	p := runtime.GOMAXPROCS(0)
	if m := int(maxProcs.Load()); m > 0 && m < p {
		p = m
	}
	return p
}

// For runs fn over [0,n) in contiguous chunks on at most Procs() goroutines. Chunks are
// handed out as goroutines become free (about four per goroutine), because the cost of a row
// often varies a lot: in matting only rows that cross the unknown band do real work.
func For(n int, fn func(lo, hi int)) {
	Workers(n, func() func(lo, hi int) { return fn })
}

// Workers is For where each goroutine first gets its loop body from newWorker, so that it can
// keep buffers of its own across its chunks.
func Workers(n int, newWorker func() func(lo, hi int)) {
	if n <= 0 {
		return
	}
	p := min(Procs(), n)
	if p <= 1 {
		newWorker()(0, n)
		return
	}
	chunk := max(1, n/(p*4))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range p {
		wg.Go(func() {
			fn := newWorker()
			for {
				lo := int(next.Add(int64(chunk))) - chunk
				if lo >= n {
					return
				}
				fn(lo, min(lo+chunk, n))
			}
		})
	}
	wg.Wait()
}

// Bands splits [0,n) into k fixed contiguous bands and runs fn(band, lo, hi) for each at
// once. Unlike For, the split depends only on n and k, so a reduction that keeps one partial
// result per band gives the same sum on every run.
func Bands(n, k int, fn func(band, lo, hi int)) {
	if n <= 0 {
		return
	}
	k = max(1, min(k, n))
	if k == 1 {
		fn(0, 0, n)
		return
	}
	var wg sync.WaitGroup
	for i := range k {
		lo, hi := i*n/k, (i+1)*n/k
		wg.Go(func() { fn(i, lo, hi) })
	}
	wg.Wait()
}
