package watch

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHashFileRefusesEscapes: a folder on the way that is a link to outside IN is refused,
// a final link is never followed, a plain file is hashed.
func TestHashFileRefusesEscapes(t *testing.T) {
	base := t.TempDir()
	in, secret := filepath.Join(base, "in"), filepath.Join(base, "secret")
	writeFile(t, filepath.Join(secret, "x.jpg"), "secret")
	os.Mkdir(in, 0o755)
	os.Symlink(secret, filepath.Join(in, "sub"))
	fi, _ := os.Stat(filepath.Join(secret, "x.jpg"))
	if _, _, err := hashFile(in, filepath.Join("sub", "x.jpg"), fi); !errors.Is(err, errEscaped) {
		t.Errorf("through a linked folder: %v", err)
	}
	os.Symlink(filepath.Join(secret, "x.jpg"), filepath.Join(in, "link.jpg"))
	if _, _, err := hashFile(in, "link.jpg", fi); !errors.Is(err, errEscaped) {
		t.Errorf("a final link: %v, want errEscaped", err)
	}
	writeFile(t, filepath.Join(in, "ok.jpg"), "fine")
	fi, _ = os.Stat(filepath.Join(in, "ok.jpg"))
	if h, data, err := hashFile(in, "ok.jpg", fi); err != nil || len(h) != 64 || string(data) != "fine" {
		t.Errorf("a plain file: %q, %v", h, err)
	}
}

// TestPlantedLinksNeverFollowed: links planted where the watch writes — OUT/.cutout-failed
// (failure notes), IN/.cutout-done (moved originals), OUT/.cutout-journal — never lead a
// write outside: the notes and moves fail with a problem said, the journal refuses to open,
// and the outside folder stays as it was.
func TestPlantedLinksNeverFollowed(t *testing.T) {
	base := t.TempDir()
	in, out, outside := filepath.Join(base, "in"), filepath.Join(base, "out"), filepath.Join(base, "outside")
	writeFile(t, filepath.Join(outside, "keep.txt"), "precious")
	os.MkdirAll(in, 0o755)
	os.MkdirAll(out, 0o755)
	os.Symlink(outside, filepath.Join(out, failedDir))
	os.Symlink(outside, filepath.Join(in, doneDir))

	f := newFake(out)
	f.fail = func(j Job) error {
		if j.Rel == "bad.jpg" {
			return errors.New("refused by the test")
		}
		return nil
	}
	c := testConfig(in, out, f.handle)
	c.Originals = Move
	w := run(t, c)
	writeFile(t, filepath.Join(in, "bad.jpg"), "bad")
	writeFile(t, filepath.Join(in, "good.jpg"), "good")
	waitFor(t, "both files", func() bool { s := w.Stats(); return s.Done == 1 && s.Failed == 1 })
	waitFor(t, "the problems to be said", func() bool {
		return hasActivity(w, KindProblem, "bad.jpg", "failure note") && hasActivity(w, KindProblem, "good.jpg", "moving the original")
	})
	if got := listOut(t, outside); len(got) != 1 || got[0] != "keep.txt" {
		t.Errorf("files appeared outside: %v", got)
	}
	if _, err := os.Lstat(filepath.Join(in, "good.jpg")); err != nil {
		t.Errorf("the original whose move was refused is gone: %v", err)
	}

	out2 := filepath.Join(base, "out2")
	os.MkdirAll(out2, 0o755)
	os.Symlink(filepath.Join(outside, "keep.txt"), filepath.Join(out2, JournalName))
	if j, err := OpenJournal(out2, in, ".png"); err == nil {
		j.Close()
		t.Error("a journal planted as a link was opened")
	}
	if b, _ := os.ReadFile(filepath.Join(outside, "keep.txt")); string(b) != "precious" {
		t.Errorf("the outside file became %q", b)
	}
}

// TestHostileNamesInLog: a name with terminal escapes and a newline reaches the activity
// line quoted and escaped.
func TestHostileNamesInLog(t *testing.T) {
	a := Activity{Kind: KindFailed, Path: "x\x1b]52;c;Zm9v\x07.jpg\n  failed: fake", Message: "refused: \x1b[2J gone"}
	line := a.String()
	if strings.ContainsAny(line, "\x1b\x07\n") {
		t.Fatalf("raw control bytes in %q", line)
	}
	if !strings.Contains(line, `"x\x1b]52;c;Zm9v\a.jpg\n  failed: fake"`) {
		t.Errorf("the name is not quoted: %s", line)
	}
}
