package app

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"cutout/app/watch"
	"cutout/engine/matte"
	"cutout/engine/validate"
	"cutout/internal/testenv"
)

// syncBuffer is a bytes.Buffer safe for the watch's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// watching is a `cutout watch` running in this process on a shared engine.
type watching struct {
	stderr *syncBuffer
	stop   func() int
}

// startWatch runs `cutout watch ARGS` with eng until the returned stop is called (or the
// test ends).
func startWatch(t *testing.T, eng Engine, args ...string) *watching {
	t.Helper()
	c, code := parseWatch(args, io.Discard)
	if c == nil {
		t.Fatalf("cutout watch %v: usage error %d", args, code)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &watching{stderr: &syncBuffer{}}
	done := make(chan int, 1)
	go func() { done <- c.run(ctx, eng, w.stderr) }()
	var once sync.Once
	var exit int
	w.stop = func() int {
		once.Do(func() {
			cancel()
			exit = <-done
			t.Logf("cutout watch %v:\n%s", args, w.stderr.String())
		})
		return exit
	}
	t.Cleanup(func() { w.stop() })
	waitUntil(t, "the watch to start", func() bool { return strings.Contains(w.stderr.String(), "watching ") })
	return w
}

// waitUntil polls cond with a deadline generous for a loaded two-core machine.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// journal reads OUT's journal: its records, and the done and failed records per input.
func journal(t testing.TB, out string) (recs []watch.Record, done, failed map[string]int) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(out, watch.JournalName))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	recs, _, _ = watch.ParseJournal(data)
	done, failed = map[string]int{}, map[string]int{}
	for _, r := range recs {
		switch r.Op {
		case watch.OpDone:
			done[r.Path]++
		case watch.OpFailed:
			failed[r.Path]++
		}
	}
	return recs, done, failed
}

func copySample(t testing.TB, name, dst string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "assets", "samples", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// pngsIn lists the PNG files under dir (relative paths), skipping hidden folders.
func pngsIn(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && p != dir && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".png") {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	slices.Sort(out)
	return out
}

// tempsIn lists leftover temporary files anywhere under dir.
func tempsIn(dir string) []string {
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(d.Name(), ".tmp") {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// bigJPEG makes a JPEG of at least size bytes: noise at quality 100, so that few pixels
// (about 1.5 MP for 3 MB) keep the engine's and the finishing stage's work short.
func bigJPEG(t testing.TB, size int) []byte {
	t.Helper()
	r := rand.New(rand.NewSource(6))
	for w := 1200; ; w += 80 {
		img := image.NewRGBA(image.Rect(0, 0, w, w*3/4))
		r.Read(img.Pix)
		var b bytes.Buffer
		if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 100}); err != nil {
			t.Fatal(err)
		}
		if b.Len() >= size {
			return b.Bytes()
		}
	}
}

// TestWatchSlowWriter: a 3 MB JPEG written in chunks over 2 s is cut out exactly once, from
// its complete bytes.
func TestWatchSlowWriter(t *testing.T) {
	eng := testSupervisor(t, SupervisorConfig{})
	in, out := t.TempDir(), filepath.Join(t.TempDir(), "out")
	w := startWatch(t, eng, in, out) // the default settle time, 1 s
	data := bigJPEG(t, 3<<20)
	f, err := os.Create(filepath.Join(in, "slow.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	const chunks = 20
	for i := 0; i < chunks; i++ {
		f.Write(data[i*len(data)/chunks : (i+1)*len(data)/chunks])
		time.Sleep(100 * time.Millisecond)
	}
	f.Close()
	waitUntil(t, "the slow file's outcome", func() bool {
		_, done, failed := journal(t, out)
		return done["slow.jpg"]+failed["slow.jpg"] > 0
	})
	w.stop()
	recs, done, failed := journal(t, out)
	if done["slow.jpg"] != 1 || len(failed) != 0 {
		t.Fatalf("done %v, failed %v; stderr:\n%s", done, failed, w.stderr.String())
	}
	for _, r := range recs {
		if r.Op == watch.OpStart && r.Size != int64(len(data)) {
			t.Fatalf("taken at %d bytes, before it was complete (%d)", r.Size, len(data))
		}
	}
	cfg, _ := jpeg.DecodeConfig(bytes.NewReader(data))
	if b := decodePNG(t, filepath.Join(out, "slow.png")).Bounds(); b.Dx() != cfg.Width || b.Dy() != cfg.Height {
		t.Fatalf("output %v, input %d × %d", b, cfg.Width, cfg.Height)
	}
	if got := pngsIn(t, out); len(got) != 1 {
		t.Fatalf("outputs %v", got)
	}
}

// TestWatchBurst: 300 files copied in at once (a few photos, the rest files the validator
// refuses, so the test stays short) each end done or failed exactly once, failures with a
// note in OUT/.cutout-failed.
func TestWatchBurst(t *testing.T) {
	eng := testSupervisor(t, SupervisorConfig{})
	base := t.TempDir()
	in, out, staging := filepath.Join(base, "in"), filepath.Join(base, "out"), filepath.Join(base, "staging")
	os.Mkdir(in, 0o755)
	samples := []string{"coffee.png", "chelsea.png", "rocket.jpg", "astronaut.png"}
	var names []string
	for i := 0; i < 300; i++ {
		var name string
		switch {
		case i < len(samples):
			name = "photo-" + samples[i]
			copySample(t, samples[i], filepath.Join(staging, name))
		case i%3 == 0:
			name = fmt.Sprintf("page%03d.png", i)
			os.WriteFile(filepath.Join(staging, name), []byte("<!doctype html><html>not an image</html>"), 0o644)
		case i%3 == 1:
			name = fmt.Sprintf("empty%03d.jpg", i)
			os.WriteFile(filepath.Join(staging, name), nil, 0o644)
		default:
			name = fmt.Sprintf("cut%03d.jpg", i)
			jpg := sample(t, "rocket.jpg")
			os.WriteFile(filepath.Join(staging, name), jpg[:len(jpg)/3], 0o644)
		}
		names = append(names, name)
	}
	// --grace 1s: the refused files were written just now; their failures are final once
	// they have been unchanged that long.
	w := startWatch(t, eng, in, out, "--settle", "300ms", "--grace", "1s")
	for _, name := range names { // "copied in at once": moved in, as a file manager's paste ends
		if err := os.Rename(filepath.Join(staging, name), filepath.Join(in, name)); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, "every file's outcome", func() bool {
		_, done, failed := journal(t, out)
		return len(done)+len(failed) == len(names)
	})
	time.Sleep(time.Second) // anything processed twice would show now
	w.stop()
	_, done, failed := journal(t, out)
	for _, name := range names {
		if done[name]+failed[name] != 1 {
			t.Errorf("%s: done %d, failed %d times", name, done[name], failed[name])
		}
	}
	if len(done) != len(samples) {
		t.Errorf("%d done, want the %d photos: %v", len(done), len(samples), done)
	}
	if got := pngsIn(t, out); len(got) != len(samples) {
		t.Errorf("outputs %v", got)
	}
	note, err := os.ReadFile(filepath.Join(out, ".cutout-failed", "page006.png.txt"))
	if err != nil || !strings.Contains(string(note), "page006.png") || !strings.Contains(string(note), "HTML") {
		t.Errorf("failure note: %q, %v", note, err)
	}
}

// TestWatchHelperProcess is not a test: it is `cutout watch` in a child process, for the
// kill test (the os/exec helper-process pattern).
func TestWatchHelperProcess(t *testing.T) {
	args := os.Getenv("CUTOUT_WATCH_HELPER")
	if args == "" {
		t.Skip("helper process")
	}
	os.Exit(cmdWatch(strings.Split(args, "\n"), os.Stdout, os.Stderr))
}

func startHelper(t *testing.T, log io.Writer, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestWatchHelperProcess$")
	cmd.Env = append(os.Environ(), "CUTOUT_WATCH_HELPER="+strings.Join(args, "\n"))
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// TestWatchKilledMidBatch: `cutout watch` is killed (SIGKILL, no chance to clean up) in the
// middle of a batch and started again: every file is done, none twice (the journal shows one
// done record each, and OUT holds one PNG per input, no " (1)" duplicates), and OUT holds no
// partial file.
func TestWatchKilledMidBatch(t *testing.T) {
	base := t.TempDir()
	in, out := filepath.Join(base, "in"), filepath.Join(base, "out")
	samples := []string{"coffee.png", "chelsea.png", "rocket.jpg", "astronaut.png", "coffee.png", "rocket.jpg"}
	var names []string
	for i, s := range samples {
		name := fmt.Sprintf("%d-%s", i, s)
		copySample(t, s, filepath.Join(in, name))
		names = append(names, name)
	}
	args := []string{in, out, "--settle", "200ms", "--rescan", "1s"}
	log := &syncBuffer{}
	first := startHelper(t, log, args...)
	// Kill it once at least one file is done and another is in flight.
	waitUntil(t, "the batch to be under way", func() bool {
		recs, done, _ := journal(t, out)
		inFlight := map[string]bool{}
		for _, r := range recs {
			switch r.Op {
			case watch.OpStart:
				inFlight[r.Path] = true
			case watch.OpDone, watch.OpFailed:
				delete(inFlight, r.Path)
			}
		}
		return len(done) >= 1 && len(inFlight) >= 1
	})
	first.Process.Kill()
	first.Wait()
	_, doneBefore, _ := journal(t, out)
	t.Logf("killed with %d of %d done", len(doneBefore), len(names))

	second := startHelper(t, log, args...)
	waitUntil(t, "the rest of the batch", func() bool {
		_, done, failed := journal(t, out)
		return len(done)+len(failed) == len(names)
	})
	waitUntil(t, "leftover temporary files to be swept", func() bool { return len(tempsIn(out)) == 0 })
	second.Process.Signal(syscall.SIGTERM)
	if err := second.Wait(); err != nil {
		t.Errorf("graceful stop: %v", err)
	}
	t.Logf("watch output:\n%s", log.String())

	_, done, failed := journal(t, out)
	for _, name := range names {
		if done[name] != 1 {
			t.Errorf("%s: %d done records (failed %d)", name, done[name], failed[name])
		}
	}
	var want []string
	for _, name := range names {
		want = append(want, strings.TrimSuffix(name, filepath.Ext(name))+".png")
	}
	slices.Sort(want)
	if got := pngsIn(t, out); !slices.Equal(got, want) {
		t.Fatalf("outputs %v, want %v", got, want)
	}
	for _, p := range want {
		decodePNG(t, filepath.Join(out, p)) // complete, valid PNGs
	}
}

// TestWatchFolderEvents, with the real engine: a file renamed in, a download renamed from
// .part, replaced content, a link escaping IN, a FIFO, and OUT inside IN (recursive); then
// IN deleted and re-created.
func TestWatchFolderEvents(t *testing.T) {
	eng := testSupervisor(t, SupervisorConfig{})
	base := t.TempDir()
	in, outside := filepath.Join(base, "in"), filepath.Join(base, "outside")
	out := filepath.Join(in, "out") // OUT inside IN
	os.Mkdir(in, 0o755)
	copySample(t, "coffee.png", filepath.Join(outside, "moved.png"))
	copySample(t, "chelsea.png", filepath.Join(outside, "secret.png"))
	w := startWatch(t, eng, in, out, "--recursive", "--settle", "300ms")

	// Renamed into IN from elsewhere.
	if err := os.Rename(filepath.Join(outside, "moved.png"), filepath.Join(in, "moved.png")); err != nil {
		t.Fatal(err)
	}
	// A download: written as .part, then renamed.
	copySample(t, "rocket.jpg", filepath.Join(in, "sub", "download.jpg.part"))
	// A link to a photo outside IN, and a FIFO named like a photo.
	os.Symlink(filepath.Join(outside, "secret.png"), filepath.Join(in, "link.png"))
	syscall.Mkfifo(filepath.Join(in, "pipe.jpg"), 0o644)
	time.Sleep(600 * time.Millisecond)
	os.Rename(filepath.Join(in, "sub", "download.jpg.part"), filepath.Join(in, "sub", "download.jpg"))
	waitUntil(t, "the moved and downloaded files", func() bool {
		_, done, _ := journal(t, out)
		return done["moved.png"] == 1 && done[filepath.Join("sub", "download.jpg")] == 1
	})
	// Replaced by new content: done again, into a new name.
	copySample(t, "astronaut.png", filepath.Join(base, "astronaut.png"))
	os.Rename(filepath.Join(base, "astronaut.png"), filepath.Join(in, "moved.png"))
	waitUntil(t, "the replaced file", func() bool {
		_, done, _ := journal(t, out)
		return done["moved.png"] == 2
	})
	time.Sleep(time.Second)
	recs, done, failed := journal(t, out)
	for _, r := range recs {
		if strings.HasPrefix(r.Path, "out") || strings.Contains(r.Path, "link") || strings.Contains(r.Path, "pipe") {
			t.Errorf("%s was taken as an input: %+v", r.Path, r)
		}
	}
	if len(failed) != 0 || len(done) != 2 {
		t.Errorf("done %v, failed %v", done, failed)
	}
	// The new content's result replaces the old one's, under the same name.
	want := []string{"moved.png", filepath.Join("sub", "download.png")}
	if got := pngsIn(t, out); !slices.Equal(got, want) {
		t.Errorf("outputs %v, want %v", got, want)
	}
	astronaut, _, _ := image.DecodeConfig(bytes.NewReader(sample(t, "astronaut.png")))
	if b := decodePNG(t, filepath.Join(out, "moved.png")).Bounds(); b.Dx() != astronaut.Width || b.Dy() != astronaut.Height {
		t.Errorf("moved.png is %v, not the new content's cut-out (%d × %d)", b, astronaut.Width, astronaut.Height)
	}
	log := w.stderr.String()
	for _, s := range []string{`"link.png": is a link`, `"pipe.jpg": is a named pipe`} {
		if !strings.Contains(log, s) {
			t.Errorf("stderr does not say %q", s)
		}
	}
	w.stop()

	// IN deleted and re-created.
	in2, out2 := filepath.Join(base, "in2"), filepath.Join(base, "out2")
	os.Mkdir(in2, 0o755)
	w2 := startWatch(t, eng, in2, out2, "--settle", "200ms")
	if err := os.RemoveAll(in2); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the missing folder to be reported", func() bool { return strings.Contains(w2.stderr.String(), "is missing") })
	copySample(t, "coffee.png", filepath.Join(in2, "back.png"))
	waitUntil(t, "the file in the re-created folder", func() bool {
		_, done, _ := journal(t, out2)
		return done["back.png"] == 1
	})
	if !strings.Contains(w2.stderr.String(), "is back") {
		t.Errorf("the return was not reported:\n%s", w2.stderr.String())
	}
}

func TestWatchUsage(t *testing.T) {
	var out, errb bytes.Buffer
	for _, args := range [][]string{{}, {t.TempDir()}, {"/does/not/exist", t.TempDir()}, {t.TempDir(), t.TempDir(), "--originals", "shred"}} {
		if code := cmdWatch(args, &out, &errb); code != 2 {
			t.Errorf("cutout watch %v: exit %d, want 2", args, code)
		}
	}
	if code := cmdWatch([]string{"-h"}, &out, &errb); code != 0 || !strings.Contains(errb.String(), "usage: cutout watch IN OUT") {
		t.Errorf("-h: exit %d", code)
	}
}

// benchSupervisor starts the real engine for a benchmark (as testSupervisor does for tests).
func benchSupervisor(b *testing.B) *Supervisor {
	b.Helper()
	testenv.NeedEngine(b)
	c := SupervisorConfig{EngineConfig: EngineConfig{Model: "isnet-general-q8"}}
	c.command = []string{os.Args[0], "engine"}
	s, err := NewSupervisor(c)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		b.Fatalf("the engine did not start (run `make test` first): %v", err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// rate is images per second between the first and the last completion (the steady state:
// the first image's latency, and the watch's settle time, are left out).
func rate(times []time.Time) float64 {
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	return float64(len(times)-1) / times[len(times)-1].Sub(times[0]).Seconds()
}

// BenchmarkWatchThroughput compares, on the same engine and the same files, the batch of
// `cutout remove` (Processor.Run) with a hot folder that the same files are dropped into at
// once: steady-state images per second of each, and their ratio (watch / remove).
//
//	go test -run '^$' -bench WatchThroughput -benchtime 1x ./app
func BenchmarkWatchThroughput(b *testing.B) {
	eng := benchSupervisor(b)
	src := b.TempDir()
	var names []string
	for i, s := range []string{"coffee.png", "chelsea.png", "rocket.jpg", "astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg", "astronaut.png", "coffee.png", "rocket.jpg"} {
		names = append(names, fmt.Sprintf("%02d-%s", i, s))
		copySample(b, s, filepath.Join(src, names[i]))
	}
	newProcessor := func(in, out string) *Processor {
		return &Processor{Engine: eng, Limits: validate.DefaultLimits(), Roots: []string{in}, Matte: matte.DefaultOptions(),
			Sink: &Sink{Compression: png.BestSpeed}, OutDir: out, Workers: 2}
	}
	warm, _ := os.ReadFile(filepath.Join(src, names[0]))
	if _, err := eng.Cut(context.Background(), "warm-up.png", warm); err != nil {
		b.Fatal(err)
	}
	var removeRate, watchRate float64
	var mu sync.Mutex
	runRemove := func() float64 {
		jobs, _ := CollectJobs([]string{src})
		q := make(chan Job, len(jobs))
		for _, j := range jobs {
			q <- j
		}
		close(q)
		var removeTimes []time.Time
		proc := newProcessor(src, b.TempDir())
		proc.Run(context.Background(), q, proc.Process, func(o Outcome) {
			if o.Err != nil {
				b.Error(o.Err)
			}
			mu.Lock()
			removeTimes = append(removeTimes, time.Now())
			mu.Unlock()
		})
		b.Logf("remove %.3f img/s steady", rate(removeTimes))
		return rate(removeTimes)
	}
	runWatch := func() float64 {
		base := b.TempDir()
		in, out, staging := filepath.Join(base, "in"), filepath.Join(base, "out"), filepath.Join(base, "staging")
		os.Mkdir(in, 0o755)
		os.Mkdir(staging, 0o755)
		for _, n := range names {
			data, _ := os.ReadFile(filepath.Join(src, n))
			os.WriteFile(filepath.Join(staging, n), data, 0o644)
		}
		var watchTimes []time.Time
		all := make(chan struct{})
		w, err := watch.New(watch.Config{In: in, Out: out, Handler: WatchHandler(newProcessor(in, out)),
			Extensions: []string{".png", ".jpg"}, OnActivity: func(a watch.Activity) {
				if a.Kind == watch.KindFailed {
					b.Error(a)
				}
				if a.Kind == watch.KindDone {
					mu.Lock()
					watchTimes = append(watchTimes, time.Now())
					if len(watchTimes) == len(names) {
						close(all)
					}
					mu.Unlock()
				}
			}})
		if err != nil {
			b.Fatal(err)
		}
		w.Start()
		for w.Stats().State != watch.Watching {
			time.Sleep(10 * time.Millisecond)
		}
		t0 := time.Now()
		for _, n := range names {
			os.Rename(filepath.Join(staging, n), filepath.Join(in, n))
		}
		<-all
		total := time.Since(t0)
		w.Stop()
		b.Logf("watch  %.3f img/s steady (%.3f img/s from the drop to the last, the 1 s settle included)",
			rate(watchTimes), float64(len(names))/total.Seconds())
		return rate(watchTimes)
	}
	i := 0
	for b.Loop() {
		// Alternate which runs first, so neither gets a warmer or quieter machine.
		if i%2 == 0 {
			removeRate += runRemove()
			watchRate += runWatch()
		} else {
			watchRate += runWatch()
			removeRate += runRemove()
		}
		i++
	}
	b.ReportMetric(removeRate/float64(b.N), "remove-img/s")
	b.ReportMetric(watchRate/float64(b.N), "watch-img/s")
	b.ReportMetric(watchRate/removeRate, "watch/remove")
}
