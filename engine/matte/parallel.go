package matte

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// maxProcs is the process-wide cap set by SetMaxProcs; 0 means runtime.GOMAXPROCS.
var maxProcs atomic.Int32

// SetMaxProcs caps the number of goroutines that every operation of the package uses at once,
// so that finishing does not fight ONNX Runtime for the cores. n < 1 restores the default
// (runtime.GOMAXPROCS). It is safe to call at any time; running operations keep their count.
func SetMaxProcs(n int) {
	if n < 0 {
		n = 0
	}
	maxProcs.Store(int32(n))
}

// procs is the number of goroutines an operation may use now.
func procs() int {
	p := runtime.GOMAXPROCS(0)
	if m := int(maxProcs.Load()); m > 0 && m < p {
		p = m
	}
	return p
}

// parallel runs fn over [0,n) in contiguous chunks on at most procs() goroutines. Chunks are
// handed out dynamically (several per goroutine) because the cost of a row varies a lot in
// matting: only rows that cross the unknown band do real work.
func parallel(n int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	p := min(procs(), n)
	if p <= 1 {
		fn(0, n)
		return
	}
	chunk := max(1, n/(p*4))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range p {
		wg.Go(func() {
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

// bands splits [0,n) into k fixed contiguous bands and runs fn(band, lo, hi) for each in
// parallel. Unlike parallel, the split depends only on n and k, so reductions that keep one
// partial result per band are reproducible.
func bands(n, k int, fn func(band, lo, hi int)) {
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
