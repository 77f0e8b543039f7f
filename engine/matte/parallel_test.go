package matte

import (
	"runtime"
	"sync/atomic"
	"testing"
)

func TestParallelCoversOnce(t *testing.T) {
	defer SetMaxProcs(0)
	for _, p := range []int{0, 1, 2, 7} {
		SetMaxProcs(p)
		for _, n := range []int{0, 1, 5, 1000} {
			hits := make([]atomic.Int32, n)
			parallel(n, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					hits[i].Add(1)
				}
			})
			for i := range hits {
				if hits[i].Load() != 1 {
					t.Fatalf("procs %d, n %d: index %d run %d times", p, n, i, hits[i].Load())
				}
			}
			seen := make([]int, n)
			bands(n, 3, func(b, lo, hi int) {
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

func TestSetMaxProcs(t *testing.T) {
	defer SetMaxProcs(0)
	SetMaxProcs(1)
	if procs() != 1 {
		t.Errorf("procs() = %d, want 1", procs())
	}
	var running, peak atomic.Int32
	parallel(64, func(lo, hi int) {
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
	if procs() != runtime.GOMAXPROCS(0) {
		t.Errorf("procs() = %d after reset", procs())
	}
}
