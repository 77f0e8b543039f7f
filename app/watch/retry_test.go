package watch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestRetryTwiceThenDone: a Handler that fails twice for reasons that are not the file's
// (Retry) and then succeeds leaves one output, no failure note and no failed record; each
// retry is said with when it comes.
func TestRetryTwiceThenDone(t *testing.T) {
	in, out := t.TempDir(), t.TempDir()
	f := newFake(out)
	f.fail = func(j Job) error {
		f.mu.Lock()
		n := f.calls[j.Rel]
		f.mu.Unlock()
		if n <= 2 {
			return Retry(fmt.Errorf("%s: the engine could not start", j.Rel))
		}
		return nil
	}
	c := testConfig(in, out, f.handle)
	w := run(t, c)
	writeFile(t, filepath.Join(in, "x.jpg"), "x")
	waitFor(t, "the third attempt to succeed", func() bool { return w.Stats().Done == 1 })
	if f.count("x.jpg") != 3 || w.Stats().Failed != 0 {
		t.Fatalf("%d calls, %d failed", f.count("x.jpg"), w.Stats().Failed)
	}
	if _, failed := outcomes(records(t, out)); len(failed) != 0 {
		t.Fatalf("failed records %v", failed)
	}
	if got := listOut(t, out); len(got) != 3 || !strings.Contains(strings.Join(got, " "), "x.png") { // journal, lock, x.png
		t.Fatalf("OUT holds %v, want one output and no failure note", got)
	}
	for _, s := range []string{"the engine could not start; will try again in 1s", "the engine could not start; will try again in 2s"} {
		if !hasActivity(w, KindProblem, "x.jpg", s) {
			t.Errorf("not said: %q\n%s", s, describe(w))
		}
	}
}

// TestFailureNoteSaysWhatHappensNext: the note says when the file is tried again.
func TestFailureNoteSaysWhatHappensNext(t *testing.T) {
	in, out := t.TempDir(), t.TempDir()
	f := newFake(out)
	f.fail = func(j Job) error { return errors.New("not an image") }
	w := run(t, testConfig(in, out, f.handle))
	writeFile(t, filepath.Join(in, "bad.jpg"), "bad")
	waitFor(t, "the failure", func() bool { return w.Stats().Failed == 1 })
	note, _ := os.ReadFile(filepath.Join(out, failedDir, "bad.jpg.txt"))
	if !strings.Contains(string(note), "It will be tried again when its content changes.") {
		t.Fatalf("note:\n%s", note)
	}
}

// TestIncompleteFileWaits: a file written in three chunks with pauses longer than the settle
// time is taken before it is complete, and fails; those failures, of a file that changed
// moments ago, are waiting, not failed: no failed record, no note, no failure counted. A file
// that keeps failing once it has been unchanged for the grace period fails once, without
// being run again.
func TestIncompleteFileWaits(t *testing.T) {
	in, out := t.TempDir(), t.TempDir()
	whole := strings.Repeat("p", 3000)
	f := newFake(out)
	f.fail = func(j Job) error {
		if j.Rel == "bad.jpg" || string(j.Data) != whole {
			return fmt.Errorf("%s: the image is truncated", j.Rel)
		}
		return nil
	}
	c := testConfig(in, out, f.handle)
	c.Grace = 1500 * time.Millisecond
	w := run(t, c)

	writeFile(t, filepath.Join(in, "bad.jpg"), "never an image")
	p := filepath.Join(in, "slow.jpg")
	fh, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	sawWaiting := false
	for i := 0; i < 3; i++ {
		fh.Write([]byte(whole[i*1000 : (i+1)*1000]))
		deadline := time.Now().Add(2*c.Settle + 400*time.Millisecond)
		for time.Now().Before(deadline) {
			if s := w.Stats(); s.Waiting > 0 && f.count("slow.jpg") > 0 {
				sawWaiting = true
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	fh.Close()
	waitFor(t, "the complete file", func() bool { return w.Stats().Done == 1 })
	waitFor(t, "the bad file's failure", func() bool { return w.Stats().Failed == 1 })
	quiet(c)
	if n := f.count("slow.jpg"); n < 2 {
		t.Fatalf("slow.jpg handled %d times: it was never taken incomplete, the test proves nothing", n)
	}
	if !sawWaiting {
		t.Error("an incomplete file that failed was not counted as waiting")
	}
	_, failed := outcomes(records(t, out))
	if failed["slow.jpg"] != 0 || failed["bad.jpg"] != 1 || w.Stats().Failed != 1 {
		t.Fatalf("failed records %v, %d failures counted", failed, w.Stats().Failed)
	}
	if exists(filepath.Join(out, failedDir, "slow.jpg.txt")) {
		t.Error("a failure note for the incomplete file")
	}
	if n := f.count("bad.jpg"); n != 1 {
		t.Errorf("the bad file was run %d times; its second failure is its first one, final", n)
	}
	if !hasActivity(w, KindInfo, "slow.jpg", "may still be being written") {
		t.Errorf("the wait was not said:\n%s", describe(w))
	}
}

// fillDisk writes a file in dir until the disk is full.
func fillDisk(dir string) (string, error) {
	path := filepath.Join(dir, fmt.Sprintf("filler-%d", time.Now().UnixNano()))
	f, err := os.Create(path)
	if err != nil {
		return path, err
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				_, err = f.Write(chunk[:4096])
				for err == nil {
					_, err = f.Write(chunk[:4096])
				}
				return path, nil
			}
			return path, err
		}
	}
}

// TestFullDiskWaitsWithoutRedoing: when the disk holding OUT is full, the start record and
// then the done record wait for space (said once per episode, and again when there is
// space), and the cut-out is made once: no second run of the model, no "x (1).png".
func TestFullDiskWaitsWithoutRedoing(t *testing.T) {
	out := smallDisk(t, "1m")
	in := t.TempDir()
	// A record longer than a page: on a full tmpfs, any append of it needs a page that is
	// not there (a short one may fit in the journal's last page).
	rel := ""
	for len(in)+len(rel) < 3700 {
		rel = filepath.Join(rel, strings.Repeat("d", 250))
	}
	rel = filepath.Join(rel, strings.Repeat("x", 4050-len(in)-len(rel))+".jpg")

	var mu sync.Mutex
	var fillers []string
	calls := 0
	h := func(ctx context.Context, j Job) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		o, err := publish(out, j.Output, j.Replace, []byte("cut"))
		if err != nil {
			return "", Retry(err)
		}
		if calls == 1 { // the disk fills up between the output and its record
			p, err := fillDisk(out)
			fillers = append(fillers, p)
			if err != nil {
				return "", err
			}
		}
		return o, nil
	}
	c := testConfig(in, out, h)
	c.Recursive = true
	w := run(t, c)
	p, err := fillDisk(out)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(in, rel), "image")
	full := func(n int) func() bool {
		return func() bool { return countActivity(w, KindProblem, "is full; waiting for space") == n }
	}
	waitFor(t, "the full disk to be said", full(1))
	if p := w.Stats().Problem; !strings.Contains(p, "is full") {
		t.Errorf("the watch's problem is %q while the disk is full", p)
	}
	time.Sleep(1500 * time.Millisecond) // a retry or two
	mu.Lock()
	if calls != 0 {
		t.Fatalf("handled %d times before its start could be recorded", calls)
	}
	mu.Unlock()
	os.Remove(p)
	waitFor(t, "the second episode (the done record)", full(2))
	time.Sleep(1500 * time.Millisecond)
	mu.Lock()
	for _, p := range fillers {
		os.Remove(p)
	}
	mu.Unlock()
	waitFor(t, "the done record", func() bool { return w.Stats().Done == 1 })
	if p := w.Stats().Problem; p != "" {
		t.Errorf("the watch's problem is still %q", p)
	}
	quiet(c)
	mu.Lock()
	defer mu.Unlock()
	if calls != 1 {
		t.Fatalf("the cut-out was made %d times", calls)
	}
	if n := countActivity(w, KindInfo, "there is space again"); n != 2 || countActivity(w, KindProblem, "is full") != 2 {
		t.Errorf("%d recoveries said, want 2:\n%s", n, describe(w))
	}
	done, failed := outcomes(records(t, out))
	if done[rel] != 1 || len(failed) != 0 {
		t.Errorf("done %d, failed %v", done[rel], failed)
	}
	if exists(filepath.Join(out, outputName(rel, ".png", 1))) || !exists(filepath.Join(out, outputName(rel, ".png", 0))) {
		t.Error("not exactly one output")
	}
}

func countActivity(w *Watch, kind Kind, substr string) int {
	n := 0
	for _, a := range w.Recent() {
		if a.Kind == kind && strings.Contains(a.String(), substr) {
			n++
		}
	}
	return n
}

// TestOnceDrainsAndStops: with Once, Run handles what IN holds and returns: a file still
// being written is waited for, a failure is recorded, a file whose failures are never its
// fault is tried a bounded number of times and given up for the run without a note. A
// second run finds the done files done and the failed one still failed, and runs nothing
// but the given-up file again.
func TestOnceDrainsAndStops(t *testing.T) {
	in, out := t.TempDir(), t.TempDir()
	f := newFake(out)
	f.fail = func(j Job) error {
		switch j.Rel {
		case "bad.jpg":
			return errors.New("not an image")
		case "flaky.jpg":
			return Retry(errors.New("the engine could not start"))
		}
		return nil
	}
	for _, name := range []string{"good.jpg", "bad.jpg", "flaky.jpg"} {
		writeFile(t, filepath.Join(in, name), name)
	}
	old := time.Now().Add(-time.Hour) // not young: failures are final at once
	for _, name := range []string{"bad.jpg", "flaky.jpg"} {
		os.Chtimes(filepath.Join(in, name), old, old)
	}
	fh, err := os.Create(filepath.Join(in, "growing.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	c := testConfig(in, out, f.handle)
	c.Once = true
	once := func() Stats {
		t.Helper()
		w, err := New(c)
		if err != nil {
			t.Fatal(err)
		}
		w.testRetry = 20 * time.Millisecond
		done := make(chan error, 1)
		go func() { done <- w.Run(context.Background()) }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(60 * time.Second):
			t.Fatalf("a Once run did not end:\n%s", describe(w))
		}
		return w.Stats()
	}
	go func() {
		for i := 0; i < 5; i++ {
			fh.Write([]byte("chunk "))
			time.Sleep(c.Settle / 2)
		}
		fh.Close()
	}()
	s := once()
	if s.Done != 2 || s.Failed != 1 || s.Unfinished != 1 {
		t.Fatalf("first run: %+v", s)
	}
	if f.count("growing.jpg") != 1 || f.sizes["growing.jpg"][0] != 5*int64(len("chunk ")) {
		t.Errorf("the growing file was taken %d times, at %v bytes", f.count("growing.jpg"), f.sizes["growing.jpg"])
	}
	if n := f.count("flaky.jpg"); n != onceAttempts {
		t.Errorf("the flaky file was tried %d times, want %d", n, onceAttempts)
	}
	if exists(filepath.Join(out, failedDir, "flaky.jpg.txt")) || !exists(filepath.Join(out, failedDir, "bad.jpg.txt")) {
		t.Errorf("failure notes: %v", listOut(t, filepath.Join(out, failedDir)))
	}

	s = once()
	if s.Done != 0 || s.Failed != 0 || s.Skipped != 2 || s.StillFailed != 1 || s.Unfinished != 1 {
		t.Fatalf("second run: %+v", s)
	}
	if f.count("good.jpg") != 1 || f.count("bad.jpg") != 1 {
		t.Errorf("calls %v", f.calls)
	}
}
