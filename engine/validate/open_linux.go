//go:build linux

package validate

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"cutout/internal/beneath"
)

// beforeOpen, when set (by tests), runs between the check of the file's entry and its open:
// the moment a swap would have to hit.
var beforeOpen func()

// openIn opens rel beneath root for reading and returns it with its size. Every folder on
// the way is opened relative to the one before, with no link followed (openat2 with
// RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS where the kernel has it), so a folder swapped for a
// link at any moment makes the open fail instead of leading elsewhere. The file itself is
// looked at first (fstatat, no link followed): anything but a regular file is refused before
// it is opened, then it is opened non-blocking (a FIFO swapped in cannot hang the open),
// without acquiring a terminal, with O_NOFOLLOW, and must be the very file looked at.
func openIn(name, root, rel string, how reached) (*os.File, int64, error) {
	top, err := beneath.OpenRoot(root, beneath.Look)
	if err != nil {
		return nil, 0, openError(name, err)
	}
	defer top.Close()
	dir, err := top.OpenDir(filepath.Dir(rel), beneath.Look)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return nil, 0, linkRefusal(name, how, false)
		}
		return nil, 0, openError(name, err)
	}
	defer dir.Close()
	base := filepath.Base(rel)
	checked, err := dir.Lstat(base)
	if err != nil {
		return nil, 0, openError(name, err)
	}
	if checked.Mode()&fs.ModeSymlink != 0 {
		return nil, 0, linkRefusal(name, how, true)
	}
	if err := regularOnly(name, checked.Mode(), how); err != nil {
		return nil, 0, err
	}
	if beforeOpen != nil {
		beforeOpen()
	}
	f, err := dir.Open(base, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, 0, openError(name, err)
	}
	opened, err := f.Stat()
	if err == nil {
		err = regularOnly(name, opened.Mode(), how)
	}
	if err == nil && !beneath.SameFile(checked, opened) {
		err = refuse(name, ErrSymlinkEscape, "changed while it was being checked")
	}
	if err != nil {
		f.Close()
		return nil, 0, openError(name, err)
	}
	return f, opened.Size(), nil
}
