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
	"syscall"
	"time"

	"cutout/internal/beneath"
	"cutout/internal/quote"
)

// writeReplacing writes data as rel beneath the folder root (OUT), atomically and flushed:
// a temporary file beside it, then renamed over it. No link below root is followed, so a
// link planted in OUT cannot turn the write into one outside it.
func writeReplacing(root, rel string, data []byte) error {
	_, err := beneath.WriteFile(root, rel, beneath.Options{Replace: true}, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
	return err
}

// removeBeneath removes the file rel beneath root if it is there, following no link below
// root; a link there is removed itself.
func removeBeneath(root, rel string) {
	top, err := beneath.OpenRoot(root, beneath.Look)
	if err != nil {
		return
	}
	defer top.Close()
	d, err := top.OpenDir(filepath.Dir(rel), beneath.Look)
	if err != nil {
		return
	}
	defer d.Close()
	d.Remove(filepath.Base(rel))
}

// errEscaped means a path led out of IN through a link that appeared on the way.
var errEscaped = errors.New("leads outside the watched folder through a link")

// errChanged means a file changed (size or time) while it was being read.
var errChanged = errors.New("changed while it was being read")

// hashFile reads the regular file rel beneath root (IN) whole and returns its SHA-256 and
// the bytes it read, so that what is processed is exactly what was hashed (the caller keeps
// files larger than Config.MaxHash away: they are never read here). It checks that the
// version (size, modification time, inode and status-change time) is want's both before and
// after the read (errChanged otherwise). No link below root is followed: a final link, or a
// folder on the way swapped for a link to outside IN, fails with errEscaped. A FIFO swapped
// in does not block (it is opened non-blocking) and is refused.
func hashFile(root, rel string, want os.FileInfo) (string, []byte, error) {
	f, err := openBeneath(root, rel)
	if errors.Is(err, syscall.ELOOP) {
		return "", nil, fmt.Errorf("%s: %w", rel, errEscaped)
	}
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	before, err := f.Stat()
	if err != nil {
		return "", nil, err
	}
	if !before.Mode().IsRegular() {
		return "", nil, fmt.Errorf("%s is not a regular file", quote.Name(rel))
	}
	if !sameVersion(before, want) {
		return "", nil, errChanged
	}
	// The buffer is the size the file had: a file that grew meanwhile shows as a byte past
	// it (and a new modification time), never as a larger allocation.
	data := make([]byte, before.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return "", nil, errChanged // it shrank
		}
		return "", nil, err
	}
	var more [1]byte
	if n, _ := f.Read(more[:]); n > 0 {
		return "", nil, errChanged
	}
	after, err := f.Stat()
	if err != nil {
		return "", nil, err
	}
	if !sameVersion(before, after) {
		return "", nil, errChanged
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), data, nil
}

// openBeneath opens rel beneath root read-only, non-blocking, without a controlling
// terminal and without following any link below root (ELOOP).
func openBeneath(root, rel string) (*os.File, error) {
	top, err := beneath.OpenRoot(root, beneath.Look)
	if err != nil {
		return nil, err
	}
	defer top.Close()
	d, err := top.OpenDir(filepath.Dir(rel), beneath.Look)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Open(filepath.Base(rel), os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
}

// sameVersion reports whether two stats show the same version of a file: the same size
// and modification time, and the same identity where the system tells it (see identity).
func sameVersion(a, b os.FileInfo) bool {
	return a.Size() == b.Size() && a.ModTime().Equal(b.ModTime()) && sameIdentity(a, b)
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
		if !d.Type().IsRegular() || !strings.HasPrefix(name, beneath.TempPrefix) || !strings.HasSuffix(name, beneath.TempSuffix) {
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

// SweepTemps removes the temporary files (".cutout-*.tmp") a killed writer left in dir's
// tree, when they are older than age (a live writer's are younger). Call it with dir's
// journal open, so no other Cutout is writing there. It returns how many it removed.
func SweepTemps(dir string, age time.Duration) int { return sweepTemps(dir, age) }
