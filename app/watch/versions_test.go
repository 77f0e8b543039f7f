package watch

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestHandlerGetsTheBytesHashed: the Handler is given the bytes that were hashed, so a file
// rewritten while it is handled cannot put a newer version's result under the older
// version's journal record; the newer version is handled next, into the same output.
func TestHandlerGetsTheBytesHashed(t *testing.T) {
	in, out := t.TempDir(), t.TempDir()
	p := filepath.Join(in, "x.jpg")
	started := make(chan struct{})
	var once sync.Once
	var mu sync.Mutex
	var jobs []Job
	h := func(ctx context.Context, j Job) (string, error) {
		mu.Lock()
		jobs = append(jobs, j)
		first := len(jobs) == 1
		mu.Unlock()
		if first {
			once.Do(func() { close(started) })
			time.Sleep(300 * time.Millisecond) // the file is rewritten meanwhile
		}
		// Made from the bytes given: what a real Handler does with Job.Data.
		return publish(out, j.Output, j.Replace, []byte("cut:"+sha(string(j.Data))))
	}
	c := testConfig(in, out, h)
	w := run(t, c)
	writeFile(t, p, "first version")
	<-started
	writeFile(t, p, "second, longer version")
	waitFor(t, "both versions", func() bool { return w.Stats().Done == 2 })
	mu.Lock()
	defer mu.Unlock()
	for i, want := range []string{"first version", "second, longer version"} {
		if j := jobs[i]; string(j.Data) != want || j.Hash != sha(want) || j.Size != int64(len(want)) {
			t.Fatalf("job %d: data %q, hash %.8s, size %d; want %q", i, j.Data, j.Hash, j.Size, want)
		}
	}
	var doneHashes []string
	for _, r := range records(t, out) {
		if r.Op == OpDone {
			doneHashes = append(doneHashes, r.Hash)
		}
	}
	if len(doneHashes) != 2 || doneHashes[0] != sha("first version") {
		t.Fatalf("done records %v", doneHashes)
	}
	if !jobs[1].Replace || jobs[1].Output != "x.png" {
		t.Errorf("the second version went to %q (replace %v), want its own x.png replaced", jobs[1].Output, jobs[1].Replace)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "x.png")); string(b) != "cut:"+sha("second, longer version") {
		t.Errorf("x.png holds %q", b)
	}
}

// TestSameStatNewContentIsRedone: new content with the size and modification time the
// journal has (as `cp -p` of a same-sized file leaves it) is a new version, while the watch
// runs and across a restart; an unchanged file is not read again on a restart.
func TestSameStatNewContentIsRedone(t *testing.T) {
	in, out := t.TempDir(), t.TempDir()
	f := newFake(out)
	c := testConfig(in, out, f.handle)
	w, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	w.Start()
	defer w.Stop()
	p := filepath.Join(in, "x.jpg")
	writeFile(t, p, "AAAA")
	writeFile(t, filepath.Join(in, "other.jpg"), "other")
	waitFor(t, "the first version", func() bool { return w.Stats().Done == 2 })
	fi, _ := os.Stat(p)
	mtime := fi.ModTime()
	sameStat := func(body string) {
		writeFile(t, p, body)
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}

	sameStat("BBBB")
	waitFor(t, "the second version", func() bool { return f.count("x.jpg") == 2 })
	waitFor(t, "its outcome", func() bool { return w.Stats().Done == 3 })

	// A restart reads nothing that did not change.
	if err := w.Stop(); err != nil {
		t.Fatal(err)
	}
	reads := w.reads.Load()
	w.Start()
	waitFor(t, "the restart", func() bool { return w.Stats().State == Watching })
	quiet(c)
	if n := w.reads.Load() - reads; n != 0 {
		t.Errorf("a restart read %d unchanged files again", n)
	}

	// New content under the same stat while the watch was stopped.
	if err := w.Stop(); err != nil {
		t.Fatal(err)
	}
	sameStat("CCCC")
	w.Start()
	waitFor(t, "the third version", func() bool { return f.count("x.jpg") == 3 })
	waitFor(t, "its outcome", func() bool { return w.Stats().Done == 4 })
	if b, _ := os.ReadFile(filepath.Join(out, "x.png")); string(b) != "cut:"+sha("CCCC") {
		t.Errorf("x.png holds %q, want the third version's result", b)
	}
	quiet(c)
	if f.count("other.jpg") != 1 || f.count("x.jpg") != 3 {
		t.Errorf("calls %v", f.calls)
	}
}

// TestOutputNamesFollowSortedOrder: files found together get their names in sorted order,
// decided before the work, whichever finishes first: a.jpg gets a.png, a.png "a (1).png".
// A file that appears under the name meanwhile makes the Handler write beside it, and what
// it wrote is recorded.
func TestOutputNamesFollowSortedOrder(t *testing.T) {
	in, out := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(in, "a.jpg"), "jpeg")
	writeFile(t, filepath.Join(in, "a.png"), "png")
	writeFile(t, filepath.Join(in, "b.jpg"), "b")
	f := newFake(out)
	inner := f.handle
	h := func(ctx context.Context, j Job) (string, error) {
		switch j.Rel {
		case "a.jpg":
			time.Sleep(400 * time.Millisecond) // a.png is done first
		case "b.jpg":
			writeFile(t, filepath.Join(out, "b.png"), "the user's own file")
		}
		return inner(ctx, j)
	}
	c := testConfig(in, out, h)
	c.Workers = 3
	w := run(t, c)
	waitFor(t, "all three", func() bool { return w.Stats().Done == 3 })
	got := map[string]string{}
	for _, r := range records(t, out) {
		if r.Op == OpDone {
			got[r.Path] = r.Detail
		}
	}
	want := map[string]string{"a.jpg": "a.png", "a.png": "a (1).png", "b.jpg": "b (1).png"}
	for in, o := range want {
		if got[in] != o {
			t.Errorf("%s → %q, want %q (all: %v)", in, got[in], o, got)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(out, "b.png")); string(b) != "the user's own file" {
		t.Errorf("the user's b.png was replaced: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "a.png")); string(b) != "cut:"+sha("jpeg") {
		t.Errorf("a.png holds %q, want a.jpg's result", b)
	}
}
