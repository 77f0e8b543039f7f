package watch

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestFloodKeepsMemoryFlat: 10,000 files landing at once are each handled exactly once,
// while the watch tracks at most MaxPending of them at a time, so the heap stays flat (the
// journal's own index, a few hundred bytes per input, is what grows).
func TestFloodKeepsMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 files")
	}
	base := t.TempDir()
	in, out := filepath.Join(base, "in"), filepath.Join(base, "out")
	os.Mkdir(in, 0o755)
	src := filepath.Join(base, "src.jpg")
	writeFile(t, src, string(make([]byte, 4096)))
	f := newFake(out)
	f.write = false
	c := testConfig(in, out, f.handle)
	c.Settle = 50 * time.Millisecond
	c.MaxPending = 500
	w := run(t, c)

	runtime.GC()
	var base0 runtime.MemStats
	runtime.ReadMemStats(&base0)
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
			case <-time.After(50 * time.Millisecond):
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak.Load() {
					peak.Store(m.HeapInuse)
				}
				if s := w.Stats(); s.Waiting+s.Busy > c.MaxPending {
					t.Errorf("%d files tracked, bound %d", s.Waiting+s.Busy, c.MaxPending)
				}
			}
		}
	}()
	const n = 10000
	for i := 0; i < n; i++ {
		if err := os.Link(src, filepath.Join(in, fmt.Sprintf("drop%05d.jpg", i))); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "every file", func() bool { return w.Stats().Done == n })
	close(stop)
	wg.Wait()
	quiet(c)
	recs := records(t, out)
	done, failed := outcomes(recs)
	if len(done) != n || len(failed) != 0 || f.total() != n {
		t.Fatalf("%d done, %d failed, %d calls; want %d done once each", len(done), len(failed), f.total(), n)
	}
	// Every link made changes the status of them all (one inode): files done before the
	// last link was made are hashed again, found unchanged and their outcome recorded again
	// with the same output; none is handled twice.
	outputs := map[string]string{}
	for _, r := range recs {
		if r.Op != OpDone {
			continue
		}
		if o, ok := outputs[r.Path]; ok && o != r.Detail {
			t.Fatalf("%s done into %s and %s", r.Path, o, r.Detail)
		}
		outputs[r.Path] = r.Detail
	}
	for p := range done {
		if k := f.count(p); k != 1 {
			t.Fatalf("%s handled %d times", p, k)
		}
	}
	growth := int64(peak.Load()) - int64(base0.HeapInuse)
	t.Logf("heap grew by %.1f MB for %d files", float64(growth)/1e6, n)
	if growth > 48<<20 {
		t.Errorf("heap grew by %d MB", growth>>20)
	}
}
