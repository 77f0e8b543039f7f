package watch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
)

// TestSlowWriterTakenOnceComplete: a file written in chunks, with pauses shorter than the
// settle time, is handed over once, at its full size.
func TestSlowWriterTakenOnceComplete(t *testing.T) {
	in, out := t.TempDir(), t.TempDir()
	f := newFake(out)
	c := testConfig(in, out, f.handle)
	c.Settle = 400 * time.Millisecond
	w := run(t, c)
	path := filepath.Join(in, "slow.jpg")
	fh, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for i := 0; i < 12; i++ {
		fh.Write(chunk)
		time.Sleep(50 * time.Millisecond)
	}
	fh.Close()
	waitFor(t, "the slow file to be done", func() bool { return w.Stats().Done == 1 })
	quiet(c)
	if n := f.count("slow.jpg"); n != 1 {
		t.Fatalf("handled %d times, want once", n)
	}
	if got := f.sizes["slow.jpg"][0]; got != 12*64<<10 {
		t.Fatalf("handed over at %d bytes, want the whole %d", got, 12*64<<10)
	}
}

// TestPartialNamesWaitForRename: downloads in progress and hidden files are ignored; the
// rename to the final name is an arrival.
func TestPartialNamesWaitForRename(t *testing.T) {
	in, out := t.TempDir(), t.TempDir()
	f := newFake(out)
	c := testConfig(in, out, f.handle)
	w := run(t, c)
	for _, name := range []string{"a.jpg.part", "b.jpg.crdownload", "c.jpg.tmp", "d.jpg~", ".e.jpg", "notes.txt"} {
		writeFile(t, filepath.Join(in, name), "partial")
	}
	quiet(c)
	if n := f.total(); n != 0 {
		t.Fatalf("%d files in progress were handled", n)
	}
	if err := os.Rename(filepath.Join(in, "a.jpg.part"), filepath.Join(in, "a.jpg")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the renamed file", func() bool { return w.Stats().Done == 1 })
	if f.count("a.jpg") != 1 || f.total() != 1 {
		t.Fatalf("calls %v", f.calls)
	}
}

// TestRenameIntoFolder: a file moved in from elsewhere (already complete) is taken.
func TestRenameIntoFolder(t *testing.T) {
	base := t.TempDir()
	in, out, elsewhere := filepath.Join(base, "in"), filepath.Join(base, "out"), filepath.Join(base, "elsewhere")
	os.Mkdir(in, 0o755)
	writeFile(t, filepath.Join(elsewhere, "moved.jpg"), "image")
	f := newFake(out)
	w := run(t, testConfig(in, out, f.handle))
	if err := os.Rename(filepath.Join(elsewhere, "moved.jpg"), filepath.Join(in, "moved.jpg")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the moved-in file", func() bool { return w.Stats().Done == 1 })
	if _, err := os.Stat(filepath.Join(out, "moved.png")); err != nil {
		t.Fatal(err)
	}
}

// TestReplacedContentIsProcessedAgain: new content under the same name is a new input whose
// output replaces the earlier version's (no "x (1).png" beside a stale x.png); a touch
// without new content is not processed again.
func TestReplacedContentIsProcessedAgain(t *testing.T) {
	in, out := t.TempDir(), t.TempDir()
	f := newFake(out)
	c := testConfig(in, out, f.handle)
	w := run(t, c)
	p := filepath.Join(in, "x.jpg")
	writeFile(t, p, "first")
	waitFor(t, "the first version", func() bool { return w.Stats().Done == 1 })
	writeFile(t, p, "second version")
	waitFor(t, "the second version", func() bool { return w.Stats().Done == 2 })
	if got := listOut(t, out); slices.Contains(got, "x (1).png") {
		t.Fatalf("outputs %v: the new version was written beside the old one", got)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "x.png")); string(b) != "cut:"+sha("second version") {
		t.Fatalf("x.png holds %q, want the second version's result", b)
	}
	later := time.Now().Add(time.Minute)
	os.Chtimes(p, later, later)
	waitFor(t, "the touched file to be recognised", func() bool { return w.Stats().Skipped == 1 })
	quiet(c)
	if n := f.count("x.jpg"); n != 2 {
		t.Fatalf("handled %d times, want 2", n)
	}
}

// TestSymlinksNeverFollowed: a link to a file outside IN and a linked folder leading out
// are skipped; nothing outside IN is read.
func TestSymlinksNeverFollowed(t *testing.T) {
	base := t.TempDir()
	in, out, secret := filepath.Join(base, "in"), filepath.Join(base, "out"), filepath.Join(base, "secret")
	writeFile(t, filepath.Join(secret, "private.jpg"), "private")
	os.Mkdir(in, 0o755)
	f := newFake(out)
	c := testConfig(in, out, f.handle)
	c.Recursive = true
	w := run(t, c)
	if err := os.Symlink(filepath.Join(secret, "private.jpg"), filepath.Join(in, "link.jpg")); err != nil {
		t.Fatal(err)
	}
	os.Symlink(secret, filepath.Join(in, "linked-folder"))
	writeFile(t, filepath.Join(in, "real.jpg"), "real")
	waitFor(t, "the real file", func() bool { return w.Stats().Done == 1 })
	quiet(c)
	if f.total() != 1 || f.count("real.jpg") != 1 {
		t.Fatalf("calls %v: a link was followed", f.calls)
	}
	if !hasActivity(w, KindSkipped, "link.jpg", "link") {
		t.Errorf("the link was not reported:\n%s", describe(w))
	}
}

// TestFIFOSkipped: a named pipe with an image's name neither blocks the watch nor is handed
// over; a real file after it is.
func TestFIFOSkipped(t *testing.T) {
	in, out := t.TempDir(), t.TempDir()
	f := newFake(out)
	c := testConfig(in, out, f.handle)
	w := run(t, c)
	if err := syscall.Mkfifo(filepath.Join(in, "pipe.jpg"), 0o644); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	writeFile(t, filepath.Join(in, "after.jpg"), "after")
	waitFor(t, "the file after the FIFO", func() bool { return w.Stats().Done == 1 })
	quiet(c)
	if f.count("pipe.jpg") != 0 {
		t.Fatal("the FIFO was handed over")
	}
	if !hasActivity(w, KindSkipped, "pipe.jpg", "FIFO") {
		t.Errorf("the FIFO was not reported:\n%s", describe(w))
	}
}

// TestOutInsideInDoesNotLoop: with OUT inside IN (recursive), or OUT equal to IN, outputs
// are never taken as inputs.
func TestOutInsideInDoesNotLoop(t *testing.T) {
	for _, tc := range []struct{ name, out string }{{"inside", "out"}, {"equal", "."}} {
		t.Run(tc.name, func(t *testing.T) {
			in := t.TempDir()
			out := filepath.Join(in, tc.out)
			f := newFake(out)
			c := testConfig(in, out, f.handle)
			c.Recursive = true
			w := run(t, c)
			writeFile(t, filepath.Join(in, "a.jpg"), "a")
			writeFile(t, filepath.Join(in, "sub", "b.png"), "b")
			waitFor(t, "both files", func() bool { return w.Stats().Done == 2 })
			quiet(c)
			quiet(c)
			if f.total() != 2 {
				t.Fatalf("calls %v: outputs were taken as inputs", f.calls)
			}
			// A restart does not take the outputs either.
			_ = w
		})
	}
}

// TestInDeletedAndRecreated: a deleted input folder is reported, and watched again (with a
// catch-up) when it comes back.
func TestInDeletedAndRecreated(t *testing.T) {
	base := t.TempDir()
	in, out := filepath.Join(base, "in"), filepath.Join(base, "out")
	os.Mkdir(in, 0o755)
	f := newFake(out)
	w := run(t, testConfig(in, out, f.handle))
	writeFile(t, filepath.Join(in, "one.jpg"), "one")
	waitFor(t, "the first file", func() bool { return w.Stats().Done == 1 })
	if err := os.RemoveAll(in); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the folder to be reported missing", func() bool { return w.Stats().State == Missing })
	if p := w.Stats().Problem; !strings.Contains(p, in) || !strings.Contains(p, "missing") {
		t.Errorf("problem %q", p)
	}
	// Re-created with a file already in it (a catch-up), then another arrives.
	writeFile(t, filepath.Join(in, "two.jpg"), "two")
	waitFor(t, "the folder to be watched again", func() bool { return w.Stats().State == Watching })
	writeFile(t, filepath.Join(in, "three.jpg"), "three")
	waitFor(t, "the files in the new folder", func() bool { return w.Stats().Done == 3 })
	if !hasActivity(w, KindInfo, "", "is back") {
		t.Errorf("the return was not reported:\n%s", describe(w))
	}
}

// TestRestartCatchesUpAndSkipsDone: what arrived while the watch was stopped is taken on
// start; what was done before is not taken again.
func TestRestartCatchesUpAndSkipsDone(t *testing.T) {
	in, out := t.TempDir(), t.TempDir()
	f := newFake(out)
	c := testConfig(in, out, f.handle)
	c.Recursive = true
	w, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	w.Start()
	writeFile(t, filepath.Join(in, "a.jpg"), "a")
	writeFile(t, filepath.Join(in, "sub", "b.jpg"), "b")
	waitFor(t, "two done", func() bool { return w.Stats().Done == 2 })
	if err := w.Stop(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(in, "c.jpg"), "c")
	w.Start()
	defer w.Stop()
	waitFor(t, "the catch-up", func() bool { return w.Stats().Done == 3 })
	quiet(c)
	for _, rel := range []string{"a.jpg", filepath.Join("sub", "b.jpg"), "c.jpg"} {
		if n := f.count(rel); n != 1 {
			t.Errorf("%s handled %d times", rel, n)
		}
	}
}

// TestFailureNotRetriedUntilChanged: a failure leaves the original, writes a note with the
// reason, is not retried (even after a restart) until the file changes.
func TestFailureNotRetriedUntilChanged(t *testing.T) {
	in, out := t.TempDir(), t.TempDir()
	f := newFake(out)
	f.fail = func(j Job) error {
		if data, _ := os.ReadFile(j.Path); string(data) == "bad" {
			return fmt.Errorf("refused: %s is not an image", filepath.Base(j.Path))
		}
		return nil
	}
	c := testConfig(in, out, f.handle)
	c.Originals = Move
	w, _ := New(c)
	w.Start()
	p := filepath.Join(in, "bad.jpg")
	writeFile(t, p, "bad")
	waitFor(t, "the failure", func() bool { return w.Stats().Failed == 1 })
	note, err := os.ReadFile(filepath.Join(out, failedDir, "bad.jpg.txt"))
	if err != nil || !strings.Contains(string(note), "refused: bad.jpg is not an image") {
		t.Fatalf("failure note %q, %v", note, err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatal("the failed original was moved or removed")
	}
	w.Stop()
	w.Start()
	defer w.Stop()
	quiet(c)
	if n := f.count("bad.jpg"); n != 1 {
		t.Fatalf("retried without a change: %d calls", n)
	}
	writeFile(t, p, "good now")
	waitFor(t, "the fixed file", func() bool { return w.Stats().Done == 1 })
	if _, err := os.Stat(filepath.Join(out, failedDir, "bad.jpg.txt")); !os.IsNotExist(err) {
		t.Errorf("the failure note outlived the success: %v", err)
	}
	waitFor(t, "the original to move", func() bool {
		_, err := os.Stat(filepath.Join(in, doneDir, "bad.jpg"))
		return err == nil
	})
}

// TestOriginalsMove: with Move, each original goes to IN/.cutout-done after its output is
// recorded; a second file of the same name does not overwrite the first original.
func TestOriginalsMove(t *testing.T) {
	in, out := t.TempDir(), t.TempDir()
	f := newFake(out)
	c := testConfig(in, out, f.handle)
	c.Originals = Move
	c.Recursive = true
	w := run(t, c)
	writeFile(t, filepath.Join(in, "sub", "p.jpg"), "one")
	waitFor(t, "the first move", func() bool { return w.Stats().Done == 1 && !exists(filepath.Join(in, "sub", "p.jpg")) })
	writeFile(t, filepath.Join(in, "sub", "p.jpg"), "two")
	waitFor(t, "the second move", func() bool { return w.Stats().Done == 2 && !exists(filepath.Join(in, "sub", "p.jpg")) })
	for _, name := range []string{"p.jpg", "p (1).jpg"} {
		if !exists(filepath.Join(in, doneDir, "sub", name)) {
			t.Errorf("%s missing from %s: %v", name, doneDir, listOut(t, in))
		}
	}
	// Both originals are kept, so both results are: the second is not the first's new
	// version but another file of the same name.
	for _, name := range []string{"p.png", "p (1).png"} {
		if !exists(filepath.Join(out, "sub", name)) {
			t.Errorf("%s missing from OUT: %v", name, listOut(t, out))
		}
	}
	moved := 0
	for _, r := range records(t, out) {
		if r.Op == OpMoved {
			moved++
		}
	}
	if moved != 2 {
		t.Errorf("%d moved records, want 2", moved)
	}
}

func exists(p string) bool { _, err := os.Lstat(p); return err == nil }

// TestOverflowRescans: when the system reports lost notifications, the folder is walked
// again, so files whose events were lost are still taken.
func TestOverflowRescans(t *testing.T) {
	in, out := t.TempDir(), t.TempDir()
	f := newFake(out)
	c := testConfig(in, out, f.handle)
	w := run(t, c)
	w.testDrop.Store(true) // the kernel's queue overflowed: these events are lost
	writeFile(t, filepath.Join(in, "lost.jpg"), "lost")
	quiet(c)
	w.testDrop.Store(false)
	if f.total() != 0 {
		t.Fatalf("a file whose events were lost was seen without a rescan")
	}
	w.testErrors <- fsnotify.ErrEventOverflow
	waitFor(t, "the rescan to find the file", func() bool { return w.Stats().Done == 1 })
	if !hasActivity(w, KindInfo, "", "rescanning") {
		t.Errorf("overflow not reported:\n%s", describe(w))
	}
}

// TestStaleTempsSwept: temporary files left in OUT by a killed writer are swept; fresh ones
// (a writer at work) are not.
func TestStaleTempsSwept(t *testing.T) {
	out := t.TempDir()
	writeFile(t, filepath.Join(out, "sub", ".cutout-123.tmp"), "partial")
	writeFile(t, filepath.Join(out, "sub", "keep.png"), "result")
	old := time.Now().Add(-time.Hour)
	os.Chtimes(filepath.Join(out, "sub", ".cutout-123.tmp"), old, old)
	writeFile(t, filepath.Join(out, ".cutout-fresh.tmp"), "being written")
	if n := sweepTemps(out, staleTemp); n != 1 {
		t.Fatalf("removed %d", n)
	}
	got := listOut(t, out)
	slices.Sort(got)
	if want := []string{".cutout-fresh.tmp", "sub/keep.png"}; !slices.Equal(got, want) {
		t.Fatalf("left %v, want %v", got, want)
	}
}

// TestRetryErrorsAreNotFailures: a Handler error wrapped with Retry is tried again later,
// never recorded as a failure.
func TestRetryErrorsAreNotFailures(t *testing.T) {
	in, out := t.TempDir(), t.TempDir()
	f := newFake(out)
	tries := 0
	f.fail = func(j Job) error {
		tries++
		if tries == 1 {
			return Retry(errors.New("the engine could not start"))
		}
		return nil
	}
	c := testConfig(in, out, f.handle)
	c.Workers = 1
	w := run(t, c)
	writeFile(t, filepath.Join(in, "x.jpg"), "x")
	waitFor(t, "the retry to succeed", func() bool { return w.Stats().Done == 1 })
	if w.Stats().Failed != 0 {
		t.Fatal("a retry error was recorded as a failure")
	}
	if _, failed := outcomes(records(t, out)); len(failed) != 0 {
		t.Fatalf("failed records %v", failed)
	}
}

// TestStopAbandonsCleanly: stopping while a job is in flight abandons it (no output, no
// outcome); the next start does it.
func TestStopAbandonsCleanly(t *testing.T) {
	in, out := t.TempDir(), t.TempDir()
	f := newFake(out)
	f.delay = time.Hour
	c := testConfig(in, out, f.handle)
	w, _ := New(c)
	w.Start()
	writeFile(t, filepath.Join(in, "x.jpg"), "x")
	waitFor(t, "the job to start", func() bool { return f.count("x.jpg") == 1 })
	if err := w.Stop(); err != nil {
		t.Fatal(err)
	}
	if done, failed := outcomes(records(t, out)); len(done)+len(failed) != 0 {
		t.Fatalf("an abandoned job has an outcome: %v %v", done, failed)
	}
	f.delay = 0
	w.Start()
	defer w.Stop()
	waitFor(t, "the abandoned job to be redone", func() bool { return w.Stats().Done == 1 })
}

func TestManager(t *testing.T) {
	var m Manager
	in1, in2, out1, out2 := t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir()
	f1, f2 := newFake(out1), newFake(out2)
	w1, err := m.Add(testConfig(in1, out1, f1.handle))
	if err != nil {
		t.Fatal(err)
	}
	w2, err := m.Add(testConfig(in2, out2, f2.handle))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Add(testConfig(t.TempDir(), out1, f1.handle)); err == nil {
		t.Fatal("two watches share an output folder")
	}
	w1.Start()
	w2.Start()
	writeFile(t, filepath.Join(in1, "a.jpg"), "a")
	writeFile(t, filepath.Join(in2, "b.jpg"), "b")
	waitFor(t, "both watches", func() bool { return w1.Stats().Done == 1 && w2.Stats().Done == 1 })
	w2.Stop()
	if w2.Running() || !w1.Running() || w2.Stats().State != Stopped {
		t.Fatal("switching one off")
	}
	if err := m.Remove(w1); err != nil {
		t.Fatal(err)
	}
	if len(m.Watches()) != 1 || m.Watches()[0] != w2 {
		t.Fatal("remove")
	}
	m.StopAll()
	select {
	case <-w1.Changed():
	default:
		t.Error("no change signalled")
	}
	_ = context.Background
}

// TestOutDeletedJournalRewritten: when OUT is deleted under a running watch, the journal is
// written again from memory, so what was done stays done across a restart.
func TestOutDeletedJournalRewritten(t *testing.T) {
	base := t.TempDir()
	in, out := filepath.Join(base, "in"), filepath.Join(base, "out")
	os.Mkdir(in, 0o755)
	f := newFake(out)
	c := testConfig(in, out, f.handle)
	w, _ := New(c)
	w.Start()
	writeFile(t, filepath.Join(in, "a.jpg"), "a")
	waitFor(t, "a.jpg", func() bool { return w.Stats().Done == 1 })
	os.RemoveAll(out)
	waitFor(t, "the journal to come back", func() bool { return exists(filepath.Join(out, JournalName)) })
	w.Stop()
	if done, _ := outcomes(records(t, out)); done["a.jpg"] != 1 {
		t.Fatalf("journal after re-creation: %v", done)
	}
	w.Start()
	defer w.Stop()
	quiet(c)
	if f.count("a.jpg") != 1 {
		t.Fatal("a.jpg was done again")
	}
}
