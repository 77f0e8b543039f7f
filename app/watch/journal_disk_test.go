package watch

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// smallDisk mounts a tmpfs of size bytes for the test, so that a full disk is a real one;
// it skips where mounting is not allowed (not root, or no mount namespace of its own).
func smallDisk(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs here (%v: %s): the full-disk cases need root", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

// fill writes a file that leaves about free bytes on the disk holding dir.
func fill(t *testing.T, dir string, free int64) string {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	avail := int64(st.Bavail) * st.Bsize
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	for n := int64(0); n < avail-free; n += int64(len(chunk)) {
		if _, err := f.Write(chunk); err != nil {
			break
		}
	}
	return path
}

// A record that does not fit on the disk is absent, not half there: the next record after
// space returns starts on its own line and every line parses.
func TestJournalFullDiskLeavesNoHalfLine(t *testing.T) {
	out := smallDisk(t, "256k")
	j, err := OpenJournal(out, "/in", ".png")
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	rec := func(i int) Record {
		return Record{Op: OpDone, Time: time.Now(), Size: 1, Path: strings.Repeat("x", 200) + string(rune('a'+i)) + ".jpg", Detail: "a.png"}
	}
	filler := fill(t, out, 0)
	var full error
	for i := 0; i < 200 && full == nil; i++ {
		full = j.Append(rec(i % 26))
	}
	if !errors.Is(full, syscall.ENOSPC) {
		t.Fatalf("append on a full disk: %v, want ENOSPC", full)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := j.Append(rec(25)); err != nil {
		t.Fatalf("append after space returned: %v", err)
	}
	data, err := os.ReadFile(filepath.Join(out, JournalName))
	if err != nil {
		t.Fatal(err)
	}
	recs, good, bad := ParseJournal(data)
	if bad != 0 || good != len(data) {
		t.Fatalf("after a full disk: %d damaged lines, %d of %d bytes whole", bad, good, len(data))
	}
	if last := recs[len(recs)-1]; last.Path != rec(25).Path {
		t.Errorf("last record is %q", last.Path)
	}
}

// The lock is on OUT/.cutout-lock, which survives the journal's replacement; when the whole
// output folder is deleted and a second Cutout takes the new one, the first stops writing.
func TestJournalLockSurvivesDeletion(t *testing.T) {
	parent := t.TempDir()
	out := filepath.Join(parent, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	a, err := OpenJournal(out, "/in", ".png")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := OpenJournal(out, "/in", ".png"); !errors.Is(err, ErrInUse) {
		t.Fatalf("second journal on a held folder: %v, want ErrInUse", err)
	}
	// The journal alone deleted: written again, still locked.
	os.Remove(filepath.Join(out, JournalName))
	if again, err := a.Ensure(); err != nil || !again {
		t.Fatalf("Ensure after the journal's deletion: %v, %v", again, err)
	}
	if _, err := OpenJournal(out, "/in", ".png"); !errors.Is(err, ErrInUse) {
		t.Fatalf("second journal after the first rewrote its journal: %v, want ErrInUse", err)
	}
	// rm -rf OUT while a second watch starts: the second wins, the first is refused.
	if err := os.RemoveAll(out); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := OpenJournal(out, "/in", ".png")
	if err != nil {
		t.Fatalf("a journal in the new folder: %v", err)
	}
	defer b.Close()
	if _, err := a.Ensure(); !errors.Is(err, ErrInUse) {
		t.Errorf("the first journal after the folder was taken: %v, want ErrInUse", err)
	}
	if err := a.Append(Record{Op: OpStart, Time: time.Now(), Path: "a.jpg"}); !errors.Is(err, ErrInUse) {
		t.Errorf("the first journal appended after the folder was taken: %v", err)
	}
	if err := b.Append(Record{Op: OpStart, Time: time.Now(), Path: "b.jpg"}); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(out, JournalName))
	if strings.Contains(string(data), `"a.jpg"`) {
		t.Errorf("the first journal wrote into the second's folder:\n%s", data)
	}
}

// Names are claimed in the order asked, an input keeps its own earlier output, and nobody
// takes a name another input owns or a file that is already there.
func TestJournalClaim(t *testing.T) {
	out := t.TempDir()
	j, err := OpenJournal(out, "", ".png")
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	os.WriteFile(filepath.Join(out, "c.png"), []byte("the user's own"), 0o644)
	taken := func(name string) bool { _, err := os.Lstat(filepath.Join(out, name)); return err == nil }
	if n, r := j.Claim("/x/a.jpg", "a.png", taken); n != "a.png" || r {
		t.Fatalf("first claim: %q %v", n, r)
	}
	if n, _ := j.Claim("/x/a.png", "a.png", taken); n != "a (1).png" {
		t.Fatalf("second claim of a.png: %q", n)
	}
	if n, _ := j.Claim("/x/c.jpg", "c.png", taken); n != "c (1).png" {
		t.Fatalf("claim over the user's c.png: %q", n)
	}
	os.WriteFile(filepath.Join(out, "a.png"), []byte("png"), 0o644)
	if err := j.Append(Record{Op: OpDone, Time: time.Now(), Path: "/x/a.jpg", Detail: "a.png"}); err != nil {
		t.Fatal(err)
	}
	j.Release("a (1).png", "/x/a.png")
	if n, r := j.Claim("/x/a.jpg", "a.png", taken); n != "a.png" || !r {
		t.Errorf("a new version's claim: %q replace=%v, want its own a.png replaced", n, r)
	}
	if n, _ := j.Claim("/x/b/a.jpg", "a.png", taken); n == "a.png" {
		t.Errorf("another input took an owned name")
	}
}
