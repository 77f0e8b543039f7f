package parallel

import (
	"runtime"
	"sync/atomic"
	"testing"
)

// Every index is run exactly once, whatever the cap and the size.
func TestForCoversOnce(t *testing.T) {
	defer SetMaxProcs(0)
	for _, p := range []int{0, 1, 2, 7} {
		SetMaxProcs(p)
		for _, n := range []int{0, 1, 5, 1000} {
			hits := make([]atomic.Int32, n)
			workers := atomic.Int32{}
			Workers(n, func() func(lo, hi int) {
				workers.Add(1)
				return func(lo, hi int) {
					for i := lo; i < hi; i++ {
						hits[i].Add(1)
					}
				}
			})
			for i := range hits {
				if hits[i].Load() != 1 {
					t.Fatalf("procs %d, n %d: index %d run %d times", p, n, i, hits[i].Load())
				}
			}
			if w := int(workers.Load()); n > 0 && w > max(Procs(), 1) {
				t.Fatalf("procs %d, n %d: %d workers, over the cap %d", p, n, w, Procs())
			}
			seen := make([]int, n)
			Bands(n, 3, func(b, lo, hi int) {
				for i := lo; i < hi; i++ {
					seen[i] = b + 1
				}
			})
			for i, v := range seen {
				if v == 0 {
					t.Fatalf("bands missed %d", i)
				}
			}
		}
	}
}

// The cap holds: with SetMaxProcs(1) no two chunks run at once.
func TestSetMaxProcs(t *testing.T) {
	defer SetMaxProcs(0)
	SetMaxProcs(1)
	if Procs() != 1 {
		t.Errorf("Procs() = %d, want 1", Procs())
	}
	var running, peak atomic.Int32
	For(64, func(lo, hi int) {
		n := running.Add(1)
		if n > peak.Load() {
			peak.Store(n)
		}
		runtime.Gosched()
		running.Add(-1)
	})
	if peak.Load() != 1 {
		t.Errorf("peak concurrency %d with SetMaxProcs(1)", peak.Load())
	}
	SetMaxProcs(-3)
	if Procs() != runtime.GOMAXPROCS(0) {
		t.Errorf("Procs() = %d after reset", Procs())
	}
}
