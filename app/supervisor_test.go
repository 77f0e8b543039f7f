package app

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"cutout/internal/testenv"
)

// testSupervisor starts the real engine (the test binary in engine mode, real ONNX Runtime,
// real quantised model) with test hooks on.
func testSupervisor(t *testing.T, c SupervisorConfig) *Supervisor {
	t.Helper()
	testenv.NeedEngine(t)
	if c.command == nil {
		c.command = []string{os.Args[0], "engine"}
	}
	if c.Model == "" {
		c.Model = "isnet-general-q8"
	}
	s, err := NewSupervisor(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatalf("the engine did not start (run `make test`, which installs ONNX Runtime and the models): %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func sample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "assets", "samples", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// cutWithHook sends a job whose name makes the engine run a test-only hook
// (enginehooks_test.go).
func cutWithHook(s *Supervisor, hook string, data []byte) error {
	_, err := s.cut(context.Background(), "hook:"+hook, data, 0)
	return err
}

func mustCut(t *testing.T, s *Supervisor) {
	t.Helper()
	r, err := s.Cut(context.Background(), "coffee.png", sample(t, "coffee.png"))
	if err != nil {
		t.Fatalf("a good image after the failure: %v", err)
	}
	if r.NRGBA().Rect.Dx() != 600 || r.Mask.Rect.Dy() != 400 {
		t.Fatalf("result %v / %v", r.NRGBA().Rect, r.Mask.Rect)
	}
}

// TestEngineHasNoNetwork: the engine cannot connect to a listener on 127.0.0.1, and nothing
// reaches the listener; the engine says how it is isolated. Both layers are tested: the
// network namespace with the seccomp filter, and the filter alone (systems without
// unprivileged namespaces).
func TestEngineHasNoNetwork(t *testing.T) {
	t.Run("namespace+seccomp", func(t *testing.T) { testNoNetwork(t, false) })
	t.Run("seccomp only", func(t *testing.T) { testNoNetwork(t, true) })
}

func testNoNetwork(t *testing.T, noNamespace bool) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan struct{}, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
			accepted <- struct{}{}
		}
	}()
	s := testSupervisor(t, SupervisorConfig{noNamespace: noNamespace})
	sb := strings.Join(s.Sandbox(), "; ")
	if !strings.Contains(sb, "seccomp (allowlist") || strings.Contains(sb, ", net;") != !noNamespace {
		t.Errorf("sandbox %q", sb)
	}
	err = cutWithHook(s, "connect:"+ln.Addr().String(), sample(t, "coffee.png"))
	// Refused by the allowlist (no socket of any family), before any namespace matters.
	if err == nil || !strings.Contains(err.Error(), "connect failed") ||
		!strings.Contains(err.Error(), "operation not permitted") {
		t.Fatalf("connect from the engine: %v", err)
	}
	select {
	case <-accepted:
		t.Fatal("the listener accepted a connection from the engine")
	case <-time.After(200 * time.Millisecond):
	}
	// Control: the same dial from the app itself works.
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("control dial: %v", err)
	}
	c.Close()
	mustCut(t, s)
}

// TestMissingLayerSaidOnce: an engine without its namespaces says so once, however often it
// restarts.
func TestMissingLayerSaidOnce(t *testing.T) {
	var notice syncBuffer
	s := testSupervisor(t, SupervisorConfig{noNamespace: true, Notice: &notice})
	pid := s.pid()
	syscall.Kill(pid, syscall.SIGKILL)
	waitUntil(t, "the engine's death", func() bool { return syscall.Kill(pid, 0) != nil })
	mustCut(t, s)
	if s.pid() == pid {
		t.Fatal("the engine did not restart")
	}
	if got := strings.Count(notice.String(), "engine: sandbox: no own namespaces: shares user, pid"); got != 1 {
		t.Fatalf("said %d times:\n%s", got, notice.String())
	}
}

// TestEngineKilledMidJob: kill -9 the engine while it works, again and again: that is not
// the image's fault, so it is run again alone each time, and after the third such death it
// fails with ErrEngineKilled (which hot folders retry later); the next job succeeds.
func TestEngineKilledMidJob(t *testing.T) {
	s := testSupervisor(t, SupervisorConfig{})
	done := make(chan error, 1)
	go func() { done <- cutWithHook(s, "hang", sample(t, "coffee.png")) }()
	pid := 0
	for kill := 0; kill < killedRetries; kill++ {
		pid = waitNewPid(t, s, pid)
		time.Sleep(300 * time.Millisecond) // the job is in flight
		syscall.Kill(pid, syscall.SIGKILL)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrEngineKilled) || !strings.Contains(err.Error(), "hook:hang") || !strings.Contains(err.Error(), "killed from outside") {
			t.Fatalf("err = %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the job did not fail after the engine was killed three times")
	}
	mustCut(t, s)
}

// TestBombsFailAlone: a crashing, a memory-eating and a hanging image among 20 ordinary ones,
// all queued at once (two in the engine at a time): each bomb fails with its own reason, all
// 20 others come out.
func TestBombsFailAlone(t *testing.T) {
	s := testSupervisor(t, SupervisorConfig{MemoryLimit: 4 << 30})
	photos := []string{"astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg"}
	bombs := map[int]struct {
		hook string
		want error
	}{3: {"crash", ErrEngineCrash}, 10: {"alloc", ErrEngineOOM}, 17: {"hang", ErrEngineTimeout}}
	type outcome struct {
		i   int
		err error
	}
	results := make(chan outcome)
	for i := 0; i < 23; i++ {
		go func() {
			if b, ok := bombs[i]; ok {
				// The hanging one gets a short limit of its own; ordinary photos keep the
				// default (under the race detector a photo can take seconds).
				var limit time.Duration // 0: the default
				if b.hook == "hang" {
					limit = 4 * time.Second
				}
				_, err := s.cut(context.Background(), "hook:"+b.hook, sample(t, "coffee.png"), limit)
				results <- outcome{i, err}
				return
			}
			name := photos[i%len(photos)]
			_, err := s.Cut(context.Background(), name, sample(t, name))
			results <- outcome{i, err}
		}()
		time.Sleep(20 * time.Millisecond) // queued in this order
	}
	good := 0
	for range 23 {
		o := <-results
		b, bomb := bombs[o.i]
		// Under the race detector the sanitizer's own allocations share the memory limit and
		// it may be the one refused, ending the engine as a crash: still the bomb's own.
		tsan := raceDetector && b.hook == "alloc" && errors.Is(o.err, ErrEngineCrash)
		switch {
		case bomb && !errors.Is(o.err, b.want) && !tsan:
			t.Errorf("bomb %s: %v, want %v", b.hook, o.err, b.want)
		case !bomb && o.err != nil:
			t.Errorf("an ordinary photo failed: %v", o.err)
		case !bomb:
			good++
		}
	}
	if good != 20 {
		t.Errorf("%d of 20 ordinary photos came out", good)
	}
}

// waitNewPid waits until the supervisor runs an engine whose pid is not old.
func waitNewPid(t *testing.T, s *Supervisor, old int) int {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if p := s.pid(); p != 0 && p != old {
			return p
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("no engine started")
	return 0
}

// TestEngineTimeout: a hanging engine is stopped after the job timeout; that job fails (and
// is not retried) and the next one runs on a restarted engine.
func TestEngineTimeout(t *testing.T) {
	s := testSupervisor(t, SupervisorConfig{})
	first := s.pid()
	start := time.Now()
	// Only the hanging job gets the short limit: a real image on a loaded machine (and under
	// the race detector) may take longer than 3 s.
	_, err := s.cut(context.Background(), "hook:hang", sample(t, "coffee.png"), 3*time.Second)
	if !errors.Is(err, ErrEngineTimeout) || !strings.Contains(err.Error(), "longer than 3s") {
		t.Fatalf("err = %v", err)
	}
	// 3 s shared, then 3 s alone (a timeout is blamed only on a job that times out alone),
	// plus two engine starts.
	if el := time.Since(start); el > 25*time.Second {
		t.Fatalf("the timeout took %s", el)
	}
	mustCut(t, s)
	if s.pid() == first {
		t.Fatal("the engine was not restarted")
	}
}

// TestEngineMemoryLimit: an engine that allocates without end hits its address-space limit
// and dies alone; the job fails with an out-of-memory reason and the app goes on.
func TestEngineMemoryLimit(t *testing.T) {
	s := testSupervisor(t, SupervisorConfig{MemoryLimit: 4 << 30})
	err := cutWithHook(s, "alloc", sample(t, "coffee.png"))
	// Under the race detector the sanitizer's own allocations share the limit, and now and
	// then it is the one refused (its "ThreadSanitizer failed to allocate" then ends the
	// process): the engine still dies alone, which is what matters here.
	tsan := raceDetector && errors.Is(err, ErrEngineCrash) && strings.Contains(s.lastStderr(), "ThreadSanitizer failed to allocate")
	if !tsan && (!errors.Is(err, ErrEngineOOM) || !strings.Contains(err.Error(), "ran out of memory")) {
		t.Fatalf("err = %v; engine stderr: %.2000s", err, s.lastStderr())
	}
	mustCut(t, s)
}

// TestEngineMalformedFrame: an engine that writes garbage on the protocol pipe is killed,
// the job fails with that reason, and a new engine takes the next job.
func TestEngineMalformedFrame(t *testing.T) {
	s := testSupervisor(t, SupervisorConfig{})
	err := cutWithHook(s, "garbage", sample(t, "coffee.png"))
	if !errors.Is(err, ErrEngineCrash) || !strings.Contains(err.Error(), "malformed") {
		t.Fatalf("err = %v", err)
	}
	mustCut(t, s)
}

// TestEngineRefusesUnverifiedModelSwap: a model file whose bytes differ from the manifest is
// refused before the engine says hello.
func TestEngineRefusesTamperedModel(t *testing.T) {
	dir := t.TempDir()
	man, err := os.ReadFile(filepath.Join(repoRoot(t), "models", "models.toml"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "models.toml"), man, 0o644)
	// Same size as the real quantised model, different bytes.
	f, _ := os.Create(filepath.Join(dir, "isnet-general-q8.onnx"))
	f.Truncate(44342436)
	f.Close()
	c := SupervisorConfig{EngineConfig: EngineConfig{ModelsDir: dir, Model: "isnet-general-q8"}}
	c.command = []string{os.Args[0], "engine"}
	s, err := NewSupervisor(c)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.Start(context.Background())
	if !errors.Is(err, ErrEngineStart) || !strings.Contains(err.Error(), "does not match its checksum") {
		t.Fatalf("err = %v", err)
	}
}

// TestEngineWarm: an engine started with Warm makes its first run's allocations before any
// image comes (its resident memory grows to the model's working size on its own), and an
// image that comes during the warm-up is cut out as usual.
func TestEngineWarm(t *testing.T) {
	s := testSupervisor(t, SupervisorConfig{Warm: true})
	pid := waitNewPid(t, s, 0)
	var rss int64
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if rss = residentKB(t, pid); rss > 500<<10 {
			break
		}
	}
	if rss <= 500<<10 {
		t.Fatalf("the warm engine holds %d MB with no image sent, want the model's working memory (> 500 MB)", rss>>10)
	}
	mustCut(t, s)

	s = testSupervisor(t, SupervisorConfig{Warm: true})
	mustCut(t, s) // during its warm-up
}

// residentKB is a process's resident memory in KiB.
func residentKB(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb
		}
	}
	return 0
}

// lastStderr is what the last engine wrote to stderr, for tests.
func (s *Supervisor) lastStderr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last == nil {
		return ""
	}
	return s.last.stderr.String()
}
