package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cutout/internal/testenv"
)

// bombBatch writes four ordinary photos and two bombs — a crash and a memory eater, test
// hooks of the engine run by their file names — into a folder. (A hang costs its whole time
// limit; the supervisor's TestBombsFailAlone has one.)
func bombBatch(t *testing.T, dir string) (photos []string) {
	t.Helper()
	names := []string{"astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg"}
	for i := range 4 {
		n := names[i%len(names)]
		dst := filepath.Join(dir, strings.Replace(n, ".", "-"+string(rune('a'+i))+".", 1))
		copySample(t, n, dst)
		photos = append(photos, dst)
	}
	for _, b := range []string{"hook:crash.png", "hook:alloc.png"} {
		copySample(t, "coffee.png", filepath.Join(dir, b))
	}
	return photos
}

// TestRemoveBombsFailAlone: in `cutout remove`, each bomb fails with its own reason and every
// ordinary photo beside them comes out.
func TestRemoveBombsFailAlone(t *testing.T) {
	testenv.NeedEngine(t)
	in, out := t.TempDir(), t.TempDir()
	photos := bombBatch(t, in)
	var stdout, stderr bytes.Buffer
	code := Main([]string{"remove", in, "-o", out, "--engine-memory", "4096"}, &stdout, &stderr)
	log := stderr.String()
	t.Log(log)
	if code != 1 || !strings.Contains(log, "done 4, failed 2") {
		t.Fatalf("exit %d; want 1 with the 4 photos done and the 2 bombs failed", code)
	}
	for _, p := range photos {
		base := filepath.Base(p)
		if _, err := os.Stat(filepath.Join(out, strings.TrimSuffix(base, filepath.Ext(base))+".png")); err != nil {
			t.Errorf("the ordinary photo %s did not come out", base)
		}
	}
	for bomb, reason := range map[string]string{"hook:crash.png": "crashed", "hook:alloc.png": "memory"} {
		found := false
		for _, l := range strings.Split(log, "\n") {
			// Under the race detector the sanitizer's own allocations share the memory limit
			// and may be the ones refused, which ends the engine as a crash: still the bomb's.
			tsan := raceDetector && bomb == "hook:alloc.png" && strings.Contains(l, "crashed")
			if strings.Contains(l, "failed:") && strings.Contains(l, bomb) && (strings.Contains(l, reason) || tsan) {
				found = true
			}
		}
		if !found {
			t.Errorf("no failure line for %s with %q", bomb, reason)
		}
	}
}

// TestWatchBombsFailAlone: the same in a hot folder (--once): the bombs get failure notes,
// no ordinary photo does, and every one of them is cut out.
func TestWatchBombsFailAlone(t *testing.T) {
	eng := testSupervisor(t, SupervisorConfig{MemoryLimit: 4 << 30})
	base := t.TempDir()
	in, out := filepath.Join(base, "in"), filepath.Join(base, "out")
	os.MkdirAll(in, 0o755)
	photos := bombBatch(t, in)
	c, code := parseWatch([]string{in, out, "--once", "--settle", "200ms", "--grace", "1s"}, os.Stderr)
	if c == nil {
		t.Fatalf("usage error %d", code)
	}
	var log syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	code = c.run(ctx, eng, &log)
	t.Log(log.String())
	if code != 1 {
		t.Errorf("exit %d, want 1 (the bombs failed)", code)
	}
	for _, p := range photos {
		base := filepath.Base(p)
		if _, err := os.Stat(filepath.Join(out, strings.TrimSuffix(base, filepath.Ext(base))+".png")); err != nil {
			t.Errorf("the ordinary photo %s did not come out", base)
		}
	}
	notes, _ := os.ReadDir(filepath.Join(out, ".cutout-failed"))
	if len(notes) != 2 {
		var names []string
		for _, n := range notes {
			names = append(names, n.Name())
		}
		t.Errorf("failure notes %v, want one per bomb", names)
	}
}

// TestWindowBombFailsAlone: the window's backend cuts photos and a crashing bomb at once (as
// its two workers do); only the bomb fails, with its own reason.
func TestWindowBombFailsAlone(t *testing.T) {
	b := testBackend(t)
	dir := t.TempDir()
	photos := bombBatch(t, dir)
	type result struct {
		path string
		err  error
	}
	paths := append(append([]string(nil), photos...), filepath.Join(dir, "hook:crash.png"))
	results := make(chan result, len(paths))
	for _, p := range paths {
		go func() {
			_, err := b.Cut(context.Background(), p, nil)
			results <- result{p, err}
		}()
	}
	for range paths {
		r := <-results
		bomb := strings.Contains(r.path, "hook:")
		switch {
		case bomb && (r.err == nil || !strings.Contains(r.err.Error(), "crashed")):
			t.Errorf("the bomb: %v, want it to fail as a crash", r.err)
		case !bomb && r.err != nil:
			t.Errorf("the photo %s failed: %v", filepath.Base(r.path), r.err)
		}
	}
}
