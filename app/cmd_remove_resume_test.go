package app

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"cutout/app/watch"
	"cutout/internal/testenv"
)

// journalOf reads OUT's journal: its records and how many lines were damaged.
func journalOf(t *testing.T, out string) ([]watch.Record, int, []byte) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(out, watch.JournalName))
	if err != nil {
		t.Fatal(err)
	}
	recs, _, bad := watch.ParseJournal(data)
	return recs, bad, data
}

// stamps is each visible output's modification time and size, to see that nothing was
// rewritten.
func stamps(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, n := range visibleNames(t, dir) {
		fi, err := os.Stat(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		m[n] = fmt.Sprint(fi.ModTime().UnixNano(), " ", fi.Size())
	}
	return m
}

// TestRemoveResumes: names are decided from the sorted inputs (a.jpg → a.png, a.png →
// a (1).png, the same on every run), a rerun skips what is done and writes nothing, a
// changed input is redone into its own output, and --force redoes everything in place.
func TestRemoveResumes(t *testing.T) {
	testenv.NeedEngine(t)
	in := t.TempDir()
	copySample(t, "rocket.jpg", filepath.Join(in, "a.jpg"))
	copySample(t, "coffee.png", filepath.Join(in, "a.png"))
	os.WriteFile(filepath.Join(in, "notes.png"), []byte("just some words"), 0o644)
	out := filepath.Join(t.TempDir(), "out")
	run := func(extra ...string) (int, string) {
		var stdout, stderr bytes.Buffer
		code := Main(append([]string{"remove", in, "-o", out}, extra...), &stdout, &stderr)
		return code, stderr.String()
	}
	code, log := run()
	if code != 1 || !strings.Contains(log, "done 2, failed 1") {
		t.Fatalf("first run: exit %d\n%s", code, log)
	}
	if got := visibleNames(t, out); !slices.Equal(got, []string{"a (1).png", "a.png"}) {
		t.Fatalf("outputs %v", got)
	}
	// a.png came from the JPEG (the rocket, 640×427; the coffee cup is 600×400).
	if b := decodePNG(t, filepath.Join(out, "a.png")).Bounds(); b.Dx() != 640 {
		t.Errorf("a.png is %v: not the rocket's cut-out", b)
	}
	before := stamps(t, out)
	_, _, journal := journalOf(t, out)

	code, log = run()
	if code != 1 || !strings.Contains(log, "done 0, failed 1, skipped 2 already done") {
		t.Fatalf("rerun: exit %d\n%s", code, log)
	}
	if after := stamps(t, out); !equalMaps(before, after) {
		t.Errorf("the rerun rewrote outputs: %v → %v", before, after)
	}
	if _, _, again := journalOf(t, out); !bytes.Equal(again, journal) {
		t.Errorf("the rerun wrote to the journal:\n%s", again[len(journal):])
	}

	// A new version of a.jpg replaces its own a.png; nothing else is touched.
	copySample(t, "astronaut.png", filepath.Join(in, "a.jpg.tmp"))
	os.Rename(filepath.Join(in, "a.jpg.tmp"), filepath.Join(in, "a.jpg")) // a PNG named .jpg: refused
	copySample(t, "chelsea.png", filepath.Join(in, "a.png"))
	code, log = run()
	if code != 1 || !strings.Contains(log, "done 1, failed 2") {
		t.Fatalf("after the changes: exit %d\n%s", code, log)
	}
	if got := visibleNames(t, out); !slices.Equal(got, []string{"a (1).png", "a.png"}) {
		t.Fatalf("after the changes the outputs are %v", got)
	}
	if b := decodePNG(t, filepath.Join(out, "a (1).png")).Bounds(); b.Dx() != 451 || b.Dy() != 300 {
		t.Errorf("a (1).png is %v after a.png became the cat (451×300)", b)
	}

	// --force redoes the others in place: still two outputs, each rewritten.
	copySample(t, "rocket.jpg", filepath.Join(in, "a.jpg"))
	os.Remove(filepath.Join(in, "notes.png"))
	mid := stamps(t, out)
	time.Sleep(10 * time.Millisecond)
	code, log = run("--force")
	if code != 0 || !strings.Contains(log, "done 2, failed 0") {
		t.Fatalf("--force: exit %d\n%s", code, log)
	}
	if got := visibleNames(t, out); !slices.Equal(got, []string{"a (1).png", "a.png"}) {
		t.Fatalf("after --force the outputs are %v", got)
	}
	for n, s := range stamps(t, out) {
		if mid[n] == s {
			t.Errorf("--force left %s as it was", n)
		}
	}
	if _, bad, _ := journalOf(t, out); bad != 0 {
		t.Errorf("%d damaged journal lines", bad)
	}

	// A fresh output folder gives the same names again.
	out2 := filepath.Join(t.TempDir(), "out")
	var stdout, stderr bytes.Buffer
	if code := Main([]string{"remove", filepath.Join(in, "a.png"), filepath.Join(in, "a.jpg"), "-o", out2}, &stdout, &stderr); code != 0 {
		t.Fatalf("fresh folder: exit %d\n%s", code, stderr.String())
	}
	if b := decodePNG(t, filepath.Join(out2, "a.png")).Bounds(); b.Dx() != 640 {
		t.Errorf("in a fresh folder a.png is %v: named by arrival, not by the sorted inputs", b)
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// A killed run's temporary files are removed by the next run, and an output folder that
// another Cutout holds is refused with a sentence.
func TestRemoveLeftoversAndLock(t *testing.T) {
	testenv.NeedEngine(t)
	in := t.TempDir()
	copySample(t, "coffee.png", filepath.Join(in, "coffee.png"))
	out := t.TempDir()
	left := filepath.Join(out, ".cutout-123456.tmp")
	os.WriteFile(left, make([]byte, 100), 0o644)
	old := time.Now().Add(-time.Minute)
	os.Chtimes(left, old, old)

	j, err := watch.OpenJournal(out, "/somewhere", ".png")
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := Main([]string{"remove", in, "-o", out}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "is in use by another running cutout") {
		t.Errorf("while a watch holds OUT: exit %d\n%s", code, stderr.String())
	}
	j.Close()
	stderr.Reset()
	if code := Main([]string{"remove", in, "-o", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "removed 1 temporary files") {
		t.Errorf("no word of the leftover:\n%s", stderr.String())
	}
	if _, err := os.Stat(left); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the leftover is still there: %v", err)
	}
}

// TestRemoveDiskFull: on a real full disk the finished image waits for room (said once),
// the model does not run again, and the output and the journal come out whole and single.
func TestRemoveDiskFull(t *testing.T) {
	testenv.NeedEngine(t)
	out := t.TempDir()
	if msg, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", out).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs here (%v: %s): the full-disk case needs root", err, strings.TrimSpace(string(msg)))
	}
	t.Cleanup(func() { exec.Command("umount", "-l", out).Run() })
	in := t.TempDir()
	copySample(t, "coffee.png", filepath.Join(in, "coffee.png"))
	copySample(t, "rocket.jpg", filepath.Join(in, "rocket.jpg"))
	// Room for the journal, not for a cut-out (each is about 250 KB).
	filler := filepath.Join(out, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	var st syscall.Statfs_t
	syscall.Statfs(out, &st)
	f.Write(make([]byte, int64(st.Bavail)*st.Bsize-64<<10))
	f.Close()

	stderr := &syncBuffer{}
	code := make(chan int, 1)
	go func() { code <- Main([]string{"remove", in, "-o", out}, &bytes.Buffer{}, stderr) }()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(stderr.String(), "is full") {
		if time.Now().After(deadline) {
			t.Fatalf("no word of the full disk:\n%s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // a few attempts while full
	os.Remove(filler)
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("exit %d\n%s", c, stderr.String())
		}
	case <-time.After(90 * time.Second):
		t.Fatalf("still running after space returned:\n%s", stderr.String())
	}
	log := stderr.String()
	t.Log(log)
	if n := strings.Count(log, "is full"); n != 1 {
		t.Errorf("the full disk was reported %d times, want once", n)
	}
	if got := visibleNames(t, out); !slices.Equal(got, []string{"coffee.png", "rocket.png"}) {
		t.Errorf("outputs %v, want one per input", got)
	}
	recs, bad, _ := journalOf(t, out)
	starts := 0
	for _, r := range recs {
		if r.Op == watch.OpStart {
			starts++
		}
	}
	if bad != 0 || starts != 2 {
		t.Errorf("journal: %d damaged lines, %d start records (want 0 and one per input)", bad, starts)
	}
}
