//go:build linux

package validate

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"cutout/internal/beneath"
)

// swapAt makes beforeOpen run swap once, for one call of File.
func swapAt(t *testing.T, swap func()) {
	t.Cleanup(func() { beforeOpen = nil })
	beforeOpen = func() {
		beforeOpen = nil
		swap()
	}
}

// TestOpenFIFODoesNotBlock: a file checked as regular is a FIFO by the time it is opened.
// The open must return at once (no writer will ever come) and the descriptor must tell.
func TestOpenFIFODoesNotBlock(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "swapped.png")
	writeFile(t, p, validPNG())
	swapAt(t, func() {
		os.Remove(p)
		mkfifo(t, p)
	})
	done := make(chan error, 1)
	go func() {
		_, _, err := File(p, Limits{}, dir)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrNotRegularFile) && !errors.Is(err, ErrSymlinkEscape) {
			t.Fatalf("a FIFO swapped in: %v, want a refusal", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("opening a FIFO blocked")
	}
}

// TestOpenRefusesSwappedLink: a file checked as regular is a link by the time it is
// opened, for a file in a named folder and for one named directly.
func TestOpenRefusesSwappedLink(t *testing.T) {
	for _, roots := range [][]string{{}, {"dir"}} {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "real.png"), validPNG())
		p := filepath.Join(dir, "swapped.png")
		writeFile(t, p, validPNG())
		swapAt(t, func() {
			os.Remove(p)
			symlink(t, filepath.Join(dir, "real.png"), p)
		})
		if len(roots) > 0 {
			roots = []string{dir}
		}
		_, _, err := File(p, Limits{}, roots...)
		if !errors.Is(err, ErrSymlinkEscape) {
			t.Fatalf("roots %v: a link swapped in: %v, want ErrSymlinkEscape", roots, err)
		}
		checkError(t, err, p)
	}
}

// TestFolderSwapRace is the attack of a parent folder swapped for a link mid-run: a folder
// inside the named one is exchanged (renameat2 RENAME_EXCHANGE, in a loop) with a link to an
// outside folder that holds a "secret" image of the same name, while File opens the image
// again and again — with openat2, and with the walk older kernels get. No open may ever give
// the outside image.
func TestFolderSwapRace(t *testing.T) {
	inside, secret := validPNG(), secretPNG()
	for _, use := range []bool{true, false} {
		was := beneath.SetOpenat2(use)
		base := t.TempDir()
		root, outside := filepath.Join(base, "named"), filepath.Join(base, "outside")
		mkdir(t, root)
		mkdir(t, outside)
		mkdir(t, filepath.Join(root, "sub"))
		writeFile(t, filepath.Join(root, "sub", "photo.png"), inside)
		writeFile(t, filepath.Join(outside, "photo.png"), secret)
		symlink(t, outside, filepath.Join(root, "swap"))
		dfd, err := unix.Open(root, unix.O_DIRECTORY|unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var swaps atomic.Int64
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := unix.Renameat2(dfd, "sub", dfd, "swap", unix.RENAME_EXCHANGE); err != nil {
					t.Errorf("RENAME_EXCHANGE: %v", err)
					return
				}
				swaps.Add(1)
			}
		}()
		var read, refused int
		for i := 0; i < 1000; i++ {
			_, data, err := File(filepath.Join(root, "sub", "photo.png"), Limits{}, root)
			switch {
			case err == nil && bytes.Equal(data, inside):
				read++
			case err == nil:
				close(stop)
				wg.Wait()
				t.Fatalf("openat2 %v: open %d read the outside file", use, i)
			case errors.Is(err, ErrSymlinkEscape), errors.Is(err, ErrNotFound):
				refused++
			default:
				t.Errorf("open %d: unexpected %v", i, err)
			}
		}
		close(stop)
		wg.Wait()
		unix.Close(dfd)
		beneath.SetOpenat2(was)
		t.Logf("openat2 %v: %d swaps; of 1000 opens %d read the named folder's file, %d were refused, none read outside",
			use, swaps.Load(), read, refused)
		if read == 0 || refused == 0 {
			t.Errorf("the race was not exercised (%d read, %d refused)", read, refused)
		}
	}
}

// secretPNG is a valid PNG that differs from validPNG (zero padding after IEND is
// accepted), so that reading it would pass validation and only its bytes tell.
func secretPNG() []byte {
	return append(validPNG(), 0, 0, 0, 0)
}
