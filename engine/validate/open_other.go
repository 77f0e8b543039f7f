//go:build !linux

package validate

import (
	"io/fs"
	"os"
)

// openIn opens rel beneath root for reading and returns it with its size. Without openat2
// this relies on os.Root, which keeps every lookup inside root (a link leading out is
// refused), and on a look at the entry before and the descriptor after opening; a link that
// stays inside root is refused when it is the file itself.
func openIn(name, root, rel string, how reached) (*os.File, int64, error) {
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, 0, openError(name, err)
	}
	defer r.Close()
	checked, err := r.Lstat(rel)
	if err != nil {
		return nil, 0, openError(name, err)
	}
	if checked.Mode()&fs.ModeSymlink != 0 {
		return nil, 0, linkRefusal(name, how, true)
	}
	if err := regularOnly(name, checked.Mode(), how); err != nil {
		return nil, 0, err
	}
	f, err := r.Open(rel)
	if err != nil {
		return nil, 0, openError(name, err)
	}
	opened, err := f.Stat()
	if err == nil {
		err = regularOnly(name, opened.Mode(), how)
	}
	if err == nil && !os.SameFile(checked, opened) {
		err = refuse(name, ErrSymlinkEscape, "changed while it was being checked")
	}
	if err != nil {
		f.Close()
		return nil, 0, openError(name, err)
	}
	return f, opened.Size(), nil
}
