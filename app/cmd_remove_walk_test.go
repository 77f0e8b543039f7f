package app

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cutout/internal/testenv"
)

// TestRemoveWalkFailuresAndNamedLinks: a part of a named folder that cannot be read is a
// failure of the batch (exit 1, in the summary, the photo beside it still cut out), and a
// link to a folder named on the command line is walked at its target.
func TestRemoveWalkFailuresAndNamedLinks(t *testing.T) {
	testenv.NeedEngine(t)
	base := t.TempDir()
	shoot := filepath.Join(base, "shoot")
	copySample(t, "coffee.png", filepath.Join(shoot, "coffee.png"))
	// Folders nested past the system's limit on a path (4096 bytes): the walk cannot open
	// the deepest ones. Made one level at a time, from inside, as a path that long cannot be
	// named in one call.
	wd, _ := os.Getwd()
	if err := os.Chdir(shoot); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("d", 200)
	for range 25 {
		if err := os.Mkdir(long, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chdir(long); err != nil {
			t.Fatal(err)
		}
	}
	os.Chdir(wd)
	t.Cleanup(func() { removeDeep(shoot) })
	link := filepath.Join(base, "latest")
	if err := os.Symlink(shoot, link); err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(base, "out")
	var stdout, stderr bytes.Buffer
	code := Main([]string{"remove", link, "-o", out}, &stdout, &stderr)
	log := stderr.String()
	t.Log(log)
	if code != 1 {
		t.Errorf("exit %d, want 1: a folder that could not be read is a failure", code)
	}
	if !strings.Contains(log, "could not be read") || !strings.Contains(log, "done 1, failed 1") {
		t.Errorf("the summary does not count the unreadable folder")
	}
	if _, err := os.Stat(filepath.Join(out, "coffee.png")); err != nil {
		t.Errorf("the photo in the linked folder was not cut out: %v", err)
	}
}

// removeDeep removes a tree too deep for os.RemoveAll's paths, from the bottom up.
func removeDeep(dir string) {
	wd, _ := os.Getwd()
	defer os.Chdir(wd)
	if os.Chdir(dir) != nil {
		return
	}
	depth := 0
	for {
		entries, err := os.ReadDir(".")
		if err != nil {
			break
		}
		next := ""
		for _, e := range entries {
			if e.IsDir() {
				next = e.Name()
			}
		}
		if next == "" || os.Chdir(next) != nil {
			break
		}
		depth++
	}
	for ; depth > 0; depth-- {
		os.Chdir("..")
		entries, _ := os.ReadDir(".")
		for _, e := range entries {
			os.RemoveAll(e.Name())
		}
	}
}
