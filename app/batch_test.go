package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cutout/engine/infer"
	"cutout/engine/matte"
	"cutout/engine/validate"
)

// countingEngine stands in for the engine in the flood test, which is about the queue, not the
// model: it records how many calls are in flight and refuses every image.
type countingEngine struct {
	inFlight, peak atomic.Int32
}

func (c *countingEngine) Cut(ctx context.Context, name string, data []byte) (*infer.Result, error) {
	n := c.inFlight.Add(1)
	defer c.inFlight.Add(-1)
	for {
		p := c.peak.Load()
		if n <= p || c.peak.CompareAndSwap(p, n) {
			break
		}
	}
	time.Sleep(50 * time.Microsecond)
	return nil, errors.New("refused by the test engine")
}

func (c *countingEngine) Close() error { return nil }

// TestFloodKeepsMemoryFlat: 10,000 one-megabyte files dropped at once go through a bounded
// queue: at most two are read and in the engine at a time, so the heap stays far below the
// 10 GB that holding every file's bytes would take.
func TestFloodKeepsMemoryFlat(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src.png")
	if err := os.WriteFile(src, sample(t, "astronaut.png"), 0o644); err != nil {
		t.Fatal(err)
	}
	const n = 10000
	var paths []string
	for i := 0; i < n; i++ {
		p := filepath.Join(dir, fmt.Sprintf("drop%05d.png", i))
		if err := os.Link(src, p); err != nil { // hard links: 10,000 files, one copy on disk
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	eng := &countingEngine{}
	p := &Processor{Engine: eng, Limits: validate.DefaultLimits(), Matte: matte.DefaultOptions(),
		Sink: &Sink{}, OutDir: t.TempDir(), Workers: 2}

	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak.Load() {
					peak.Store(m.HeapInuse)
				}
			}
		}
	}()
	jobs := make(chan Job, 4)
	go func() {
		defer close(jobs)
		for _, path := range paths {
			jobs <- Job{Path: path, Rel: filepath.Base(path)}
		}
	}()
	var outcomes atomic.Int32
	p.Run(context.Background(), jobs, p.Process, func(o Outcome) {
		if o.Err == nil {
			t.Errorf("%s: no error from the refusing engine", o.Job.Path)
		}
		outcomes.Add(1)
	})
	close(stop)
	wg.Wait()
	if outcomes.Load() != n {
		t.Fatalf("%d outcomes, want %d", outcomes.Load(), n)
	}
	if eng.peak.Load() > 2 {
		t.Errorf("%d images in the engine at once, want at most 2", eng.peak.Load())
	}
	growth := int64(peak.Load()) - int64(base.HeapInuse)
	t.Logf("heap grew by %.1f MB over %d files of %.1f MB", float64(growth)/1e6, n, float64(len(sample(t, "astronaut.png")))/1e6)
	if growth > 64<<20 {
		t.Errorf("heap grew by %d MB", growth>>20)
	}
}
