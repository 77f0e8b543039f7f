package watch

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// writeFileSync writes data to path (replacing it) and flushes it to disk.
func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeAtomic replaces path with data: a temporary file beside it, flushed, then renamed.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".cutout-*.tmp")
	if err != nil {
		return err
	}
	name := tmp.Name()
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(name, path)
	}
	if err != nil {
		os.Remove(name)
		return err
	}
	syncDir(dir)
	return nil
}

// syncDir flushes a folder's entries so a rename survives a crash.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// moveNoClobber moves src to dst, or to "dst (N)" before the extension when dst exists; it
// never replaces a file. It returns where the file went.
func moveNoClobber(src, dst string) (string, error) {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", err
	}
	ext := filepath.Ext(dst)
	stem := strings.TrimSuffix(dst, ext)
	for i := 0; i < 10000; i++ {
		name := dst
		if i > 0 {
			name = fmt.Sprintf("%s (%d)%s", stem, i, ext)
		}
		err := os.Link(src, name) // fails if name exists
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			// No hard links here (FAT, some shares): check, then rename.
			if _, lerr := os.Lstat(name); lerr == nil {
				continue
			}
			if err := os.Rename(src, name); err != nil {
				return "", err
			}
			syncDir(filepath.Dir(name))
			return name, nil
		}
		if err := os.Remove(src); err != nil {
			os.Remove(name)
			return "", err
		}
		syncDir(filepath.Dir(name))
		syncDir(filepath.Dir(src))
		return name, nil
	}
	return "", fmt.Errorf("no free name for %s", dst)
}

// hashBuffers are the read buffers of hashFile, reused between files.
var hashBuffers = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// errEscaped means a path led out of IN through a link that appeared on the way.
var errEscaped = errors.New("leads outside the watched folder through a link")

// errChanged means a file changed (size or time) while it was being read.
var errChanged = errors.New("changed while it was being read")

// hashFile reads the regular file at path whole, without following a link and without
// blocking on a FIFO, and returns its SHA-256, checking that the size and modification time
// are want's both before and after the read (errChanged otherwise). If root is set, the file
// opened must lie inside it (a folder on the way swapped for a link is refused).
func hashFile(path, root string, want os.FileInfo) (string, error) {
	f, err := openRegular(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if root != "" && !openedInside(f, root) {
		return "", fmt.Errorf("%s: %w", path, errEscaped)
	}
	before, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !before.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", path)
	}
	if !sameVersion(before, want) {
		return "", errChanged
	}
	h := sha256.New()
	bp := hashBuffers.Get().(*[]byte)
	n, err := io.CopyBuffer(h, f, *bp)
	hashBuffers.Put(bp)
	if err != nil {
		return "", err
	}
	after, err := f.Stat()
	if err != nil {
		return "", err
	}
	if n != before.Size() || !sameVersion(before, after) {
		return "", errChanged
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// sameVersion reports whether two stats show the same size and modification time.
func sameVersion(a, b os.FileInfo) bool {
	return a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// sweepTemps removes temporary files (".cutout-*.tmp") left in dir's tree by a process that
// was killed while writing, when they are older than age. It returns how many it removed.
func sweepTemps(dir string, age time.Duration) int {
	n := 0
	cutoff := time.Now().Add(-age)
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			if path != dir && (d.Name() == doneDir) {
				return filepath.SkipDir
			}
			return nil
		}
		name := d.Name()
		if !d.Type().IsRegular() || !strings.HasPrefix(name, ".cutout-") || !strings.HasSuffix(name, ".tmp") {
			return nil
		}
		if fi, err := d.Info(); err == nil && fi.ModTime().Before(cutoff) {
			if os.Remove(path) == nil {
				n++
			}
		}
		return nil
	})
	return n
}
