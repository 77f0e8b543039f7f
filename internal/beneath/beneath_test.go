//go:build linux

package beneath

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// bothWays runs f with openat2 and with the component walk of older kernels.
func bothWays(t *testing.T, f func(t *testing.T)) {
	for _, on := range []bool{true, false} {
		name := "openat2"
		if !on {
			name = "walk"
		}
		t.Run(name, func(t *testing.T) {
			was := SetOpenat2(on)
			defer SetOpenat2(was)
			f(t)
		})
	}
}

func write(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// swapper exchanges root/a and root/b (a folder and a link to outside) in a loop, as an
// attacker with write access to root would, until stop is closed; it counts its swaps.
func swapper(t *testing.T, root, a, b string, stop chan struct{}, wg *sync.WaitGroup, swaps *atomic.Int64) {
	dfd, err := unix.Open(root, unix.O_DIRECTORY|unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer unix.Close(dfd)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := unix.Renameat2(dfd, a, dfd, b, unix.RENAME_EXCHANGE); err != nil {
				t.Errorf("RENAME_EXCHANGE: %v", err)
				return
			}
			swaps.Add(1)
		}
	}()
}

// TestOpenNeverLeavesRootWhileSwapped: a folder inside the root is swapped for a link to an
// outside folder, over and over, while files are opened beneath the root. No open may ever
// give the outside file; a plain open by path, run alongside, does (which shows the race is
// real).
func TestOpenNeverLeavesRootWhileSwapped(t *testing.T) {
	bothWays(t, func(t *testing.T) {
		base := t.TempDir()
		root, outside := filepath.Join(base, "root"), filepath.Join(base, "outside")
		write(t, filepath.Join(root, "sub", "x.png"), "inside")
		write(t, filepath.Join(outside, "x.png"), "secret")
		if err := os.Symlink(outside, filepath.Join(root, "link")); err != nil {
			t.Fatal(err)
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var swaps atomic.Int64
		swapper(t, root, "sub", "link", stop, &wg, &swaps)
		var ok, refused, plainSecret int
		for i := 0; i < 3000; i++ {
			body, err := readBeneath(root, "sub/x.png")
			switch {
			case err == nil && body == "inside":
				ok++
			case err == nil:
				t.Fatalf("open %d beneath the root read %q", i, body)
			case errors.Is(err, syscall.ELOOP) || errors.Is(err, syscall.ENOENT):
				refused++
			default:
				t.Fatalf("open %d: unexpected %v", i, err)
			}
			if b, err := os.ReadFile(filepath.Join(root, "sub", "x.png")); err == nil && string(b) == "secret" {
				plainSecret++
			}
		}
		close(stop)
		wg.Wait()
		t.Logf("%d swaps; beneath: %d read inside, %d refused, 0 outside; a plain open read the outside file %d times of 3000",
			swaps.Load(), ok, refused, plainSecret)
		if ok == 0 || refused == 0 {
			t.Errorf("the race was not exercised: %d reads, %d refusals", ok, refused)
		}
		if plainSecret == 0 {
			t.Errorf("a plain open never read the outside file: the swap did not race")
		}
	})
}

func readBeneath(root, rel string) (string, error) {
	top, err := OpenRoot(root, Look)
	if err != nil {
		return "", err
	}
	defer top.Close()
	d, err := top.OpenDir(filepath.Dir(rel), Look)
	if err != nil {
		return "", err
	}
	defer d.Close()
	f, err := d.Open(filepath.Base(rel), os.O_RDONLY, 0)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	return string(b), err
}

// TestLinksBelowRootRefused: a linked folder and a final link are refused (ELOOP) even when
// they point inside the root; "..", absolute names and multi-part names are refused too.
func TestLinksBelowRootRefused(t *testing.T) {
	bothWays(t, func(t *testing.T) {
		root := t.TempDir()
		write(t, filepath.Join(root, "real", "x.png"), "x")
		os.Symlink("real", filepath.Join(root, "inlink"))
		os.Symlink("real/x.png", filepath.Join(root, "file.png"))
		top, err := OpenRoot(root, Look)
		if err != nil {
			t.Fatal(err)
		}
		defer top.Close()
		if _, err := top.OpenDir("inlink", Look); !errors.Is(err, syscall.ELOOP) {
			t.Errorf("a linked folder inside the root: %v, want ELOOP", err)
		}
		if _, err := top.OpenDir("real/../inlink", Look); !errors.Is(err, syscall.ELOOP) {
			t.Errorf("a linked folder reached with ..: %v, want ELOOP", err)
		}
		if _, err := top.Open("file.png", os.O_RDONLY, 0); !errors.Is(err, syscall.ELOOP) {
			t.Errorf("a final link: %v, want ELOOP", err)
		}
		for _, bad := range []string{"../x", "/etc", ".."} {
			if _, err := top.OpenDir(bad, Look); !errors.Is(err, ErrNotLocal) {
				t.Errorf("OpenDir(%q): %v, want ErrNotLocal", bad, err)
			}
		}
		if _, err := top.Open("real/x.png", os.O_RDONLY, 0); !errors.Is(err, ErrNotLocal) {
			t.Errorf("Open of two components: %v, want ErrNotLocal", err)
		}
		if fi, err := top.Lstat("file.png"); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("Lstat of a link: %v, %v", fi, err)
		}
	})
}

// TestWriteNeverThroughLinks: a link planted in OUT — as the output's name, or as a folder
// on its way — never leads a write outside OUT, with or without Replace.
func TestWriteNeverThroughLinks(t *testing.T) {
	bothWays(t, func(t *testing.T) {
		base := t.TempDir()
		out, outside := filepath.Join(base, "out"), filepath.Join(base, "outside")
		write(t, filepath.Join(outside, "victim.png"), "precious")
		write(t, filepath.Join(outside, "sub", "x.png"), "precious too")
		os.MkdirAll(out, 0o755)
		os.Symlink(filepath.Join(outside, "victim.png"), filepath.Join(out, "victim.png"))
		os.Symlink(filepath.Join(outside, "sub"), filepath.Join(out, "sub"))
		body := func(w io.Writer) error { _, err := io.WriteString(w, "result"); return err }

		if _, err := WriteFile(out, "victim.png", Options{Replace: true}, body); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("replacing a planted link: %v, want a refusal", err)
		}
		got, err := WriteFile(out, "victim.png", Options{}, body)
		if err != nil || got != "victim (1).png" {
			t.Errorf("without Replace: %q, %v; want victim (1).png", got, err)
		}
		for _, opt := range []Options{{}, {Replace: true}} {
			if _, err := WriteFile(out, "sub/x.png", opt, body); !errors.Is(err, syscall.ELOOP) {
				t.Errorf("through a linked folder (%+v): %v, want ELOOP", opt, err)
			}
			if _, err := WriteFile(out, "sub/deeper/x.png", opt, body); !errors.Is(err, syscall.ELOOP) {
				t.Errorf("through a linked folder, creating (%+v): %v, want ELOOP", opt, err)
			}
		}
		for path, want := range map[string]string{"victim.png": "precious", "sub/x.png": "precious too"} {
			if b, _ := os.ReadFile(filepath.Join(outside, path)); string(b) != want {
				t.Errorf("outside %s is now %q", path, b)
			}
		}
		if entries, _ := os.ReadDir(filepath.Join(outside, "sub")); len(entries) != 1 {
			t.Errorf("files appeared outside OUT: %v", entries)
		}
		if b, _ := os.ReadFile(filepath.Join(out, "victim (1).png")); string(b) != "result" {
			t.Errorf("victim (1).png holds %q", b)
		}
	})
}

// TestWriteWhileSwapped: a folder of OUT swapped for a link to outside, over and over,
// while results are written into it: nothing ever lands outside.
func TestWriteWhileSwapped(t *testing.T) {
	base := t.TempDir()
	out, outside := filepath.Join(base, "out"), filepath.Join(base, "outside")
	os.MkdirAll(filepath.Join(out, "sub"), 0o755)
	write(t, filepath.Join(outside, "x.png"), "precious")
	os.Symlink(outside, filepath.Join(out, "link"))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var swaps atomic.Int64
	swapper(t, out, "sub", "link", stop, &wg, &swaps)
	written := 0
	for i := 0; i < 500; i++ {
		_, err := WriteFile(out, "sub/x.png", Options{Replace: i%2 == 0}, func(w io.Writer) error {
			_, err := io.WriteString(w, "result")
			return err
		})
		if err == nil {
			written++
		} else if !errors.Is(err, syscall.ELOOP) {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	close(stop)
	wg.Wait()
	entries, _ := os.ReadDir(outside)
	if len(entries) != 1 {
		t.Errorf("%d entries outside OUT, want only x.png", len(entries))
	}
	if b, _ := os.ReadFile(filepath.Join(outside, "x.png")); string(b) != "precious" {
		t.Errorf("the outside file became %q", b)
	}
	t.Logf("%d swaps, %d of 500 writes done (the rest refused), nothing outside", swaps.Load(), written)
}

// TestFailedWriteLeavesNothing: a write that fails midway leaves no file and no temporary.
func TestFailedWriteLeavesNothing(t *testing.T) {
	out := t.TempDir()
	boom := errors.New("boom")
	_, err := WriteFile(out, "a/b.png", Options{}, func(w io.Writer) error {
		w.Write(bytes.Repeat([]byte("x"), 3<<20))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
	entries, _ := os.ReadDir(filepath.Join(out, "a"))
	if len(entries) != 0 {
		t.Fatalf("left behind: %v", entries)
	}
}

// TestNumberedFitsNameMax: a 255-byte name still gets numbered names that can be created,
// cut on a UTF-8 boundary.
func TestNumberedFitsNameMax(t *testing.T) {
	long := strings.Repeat("é", 125) + "x.png" // 250 + 5 bytes
	if len(long) != NameMax {
		t.Fatalf("test name is %d bytes", len(long))
	}
	dir := t.TempDir()
	seen := map[string]bool{}
	for n := 0; n < 12; n++ {
		name := Numbered(long, n)
		if len(name) > NameMax || !utf8.ValidString(name) || !strings.HasSuffix(name, ".png") || seen[name] {
			t.Fatalf("Numbered(n=%d) = %q (%d bytes)", n, name, len(name))
		}
		seen[name] = true
		if n > 0 && !strings.HasSuffix(name, " ("+string(rune('0'+n%10))+").png") && n < 10 {
			t.Fatalf("Numbered(n=%d) = %q", n, name)
		}
	}
	for i := 0; i < 3; i++ {
		got, err := WriteFile(dir, long, Options{}, func(w io.Writer) error { return nil })
		if err != nil {
			t.Fatalf("write %d of a 255-byte name: %v", i, err)
		}
		if want := Numbered(long, i); got != want {
			t.Fatalf("write %d: %q, want %q", i, got, want)
		}
	}
	if got := Numbered("photo.png", 2); got != "photo (2).png" {
		t.Errorf("short name: %q", got)
	}
	if got := Numbered(strings.Repeat("a", 300), 0); len(got) != NameMax {
		t.Errorf("a name over the limit is cut to %d bytes", len(got))
	}
}

// TestMoveNeverReplaces: Move picks a free name, and never follows a link in the target.
func TestMoveNeverReplaces(t *testing.T) {
	bothWays(t, func(t *testing.T) {
		base := t.TempDir()
		in, outside := filepath.Join(base, "in"), filepath.Join(base, "outside")
		write(t, filepath.Join(in, "a.jpg"), "one")
		write(t, filepath.Join(in, "done", "a.jpg"), "earlier")
		os.MkdirAll(outside, 0o755)
		got, err := Move(in, "a.jpg", in, "done/a.jpg")
		if err != nil || got != "done/a (1).jpg" {
			t.Fatalf("Move: %q, %v", got, err)
		}
		if b, _ := os.ReadFile(filepath.Join(in, "done", "a.jpg")); string(b) != "earlier" {
			t.Errorf("replaced: %q", b)
		}
		if _, err := os.Lstat(filepath.Join(in, "a.jpg")); !os.IsNotExist(err) {
			t.Errorf("the source is still there: %v", err)
		}
		write(t, filepath.Join(in, "b.jpg"), "two")
		os.Symlink(outside, filepath.Join(in, "linked"))
		if _, err := Move(in, "b.jpg", in, "linked/b.jpg"); !errors.Is(err, syscall.ELOOP) {
			t.Errorf("Move into a linked folder: %v, want ELOOP", err)
		}
		if entries, _ := os.ReadDir(outside); len(entries) != 0 {
			t.Errorf("moved outside: %v", entries)
		}
	})
}
