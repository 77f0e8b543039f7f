//go:build unix

package validate

import (
	"errors"
	"syscall"
	"testing"
	"time"
)

func mkfifo(tb testing.TB, path string) string {
	tb.Helper()
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		tb.Skipf("cannot make a FIFO here: %v", err)
	}
	return path
}

// TestOpenFIFODoesNotBlock covers the race File guards against: a path that
// Lstat saw as a regular file is a FIFO by the time it is opened. The open
// must return at once (no writer will ever come) and Stat must tell.
func TestOpenFIFODoesNotBlock(t *testing.T) {
	p := mkfifo(t, t.TempDir()+"/swapped.png")
	done := make(chan error, 1)
	go func() {
		f, err := openNoFollow(p)
		if err == nil {
			fi, serr := f.Stat()
			f.Close()
			if serr == nil {
				err = regularOnly(p, fi.Mode(), false)
			}
		}
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrNotRegularFile) {
			t.Fatalf("open and Stat of a FIFO: %v, want ErrNotRegularFile", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("opening a FIFO blocked")
	}
}

// TestOpenRefusesSwappedLink covers the other race: a path that Lstat saw as
// a file is a symbolic link by the time it is opened.
func TestOpenRefusesSwappedLink(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir+"/real.png", validPNG())
	p := symlink(t, dir+"/real.png", dir+"/swapped.png")
	_, err := openNoFollow(p)
	if err == nil || !errors.Is(openError(p, err), ErrSymlinkEscape) {
		t.Fatalf("openNoFollow on a link: %v, want a refusal as ErrSymlinkEscape", err)
	}
}
