package validate

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// File checks one file: it opens it safely, caps the bytes it reads, sniffs
// the content, checks that the extension agrees, walks the header and reads
// it with the format's DecodeConfig, and checks the dimension and pixel
// caps. On success it returns the whole file (at most lim.MaxBytes bytes) so
// that the caller never opens the path again: what was checked is what gets
// decoded (no time-of-check/time-of-use gap). On failure the bytes are nil
// and the error is an *Error.
//
// Opening is safe against hostile paths:
//   - Only regular files are read. Directories, devices, FIFOs and sockets
//     are refused from os.Lstat, before opening; the descriptor is then
//     checked again with Stat, so a path swapped for a FIFO in between
//     cannot block (it is opened non-blocking) and is still refused.
//   - A symbolic link is followed only to a regular file. If roots are
//     given, a path that resolves through any link (the file or a folder on
//     the way) must end inside one of the roots, after resolving the roots'
//     own links; a path that involves no link is accepted wherever it is,
//     since the caller chose it. The resolved path is opened with
//     O_NOFOLLOW and must be the very file that was checked.
//   - Reading goes through a cap of lim.MaxBytes+1 bytes, so a file that
//     grows while it is read cannot exceed the cap.
func File(path string, lim Limits, roots ...string) (Info, []byte, error) {
	lim = lim.resolved()
	f, size, err := openChecked(path, roots)
	if err != nil {
		return Info{}, nil, err
	}
	defer f.Close()
	if size > lim.MaxBytes {
		return Info{}, nil, tooLarge(path, size, lim.MaxBytes)
	}
	data, err := readCapped(f, size, lim.MaxBytes)
	if err != nil {
		return Info{}, nil, refuse(path, ErrCorrupt, "could not be read completely (%v)", errorText(err))
	}
	if int64(len(data)) > lim.MaxBytes {
		return Info{}, nil, tooLarge(path, 0, lim.MaxBytes) // it grew while being read
	}
	info, err := Bytes(path, data, lim)
	if err != nil {
		return Info{}, nil, err
	}
	return info, data, nil
}

// openChecked opens path for reading if it is, or safely links to, a
// regular file, and returns the descriptor with its size.
func openChecked(path string, roots []string) (*os.File, int64, error) {
	checked, err := os.Lstat(path)
	if err != nil {
		return nil, 0, openError(path, err)
	}
	target, viaLink := path, false
	if checked.Mode()&fs.ModeSymlink != 0 || len(roots) > 0 {
		real, linked, err := resolve(path)
		if err != nil {
			return nil, 0, err
		}
		if linked {
			if len(roots) > 0 && !insideRoots(real, roots) {
				if checked.Mode()&fs.ModeSymlink == 0 {
					return nil, 0, refuse(path, ErrSymlinkEscape, "is reached through a linked folder outside the allowed folders")
				}
				return nil, 0, refuse(path, ErrSymlinkEscape, "is a link to a file outside the allowed folders")
			}
			target, viaLink = real, true
			if checked, err = os.Lstat(real); err != nil {
				return nil, 0, openError(path, err)
			}
		}
	}
	if err := regularOnly(path, checked.Mode(), viaLink); err != nil {
		return nil, 0, err
	}
	f, err := openNoFollow(target)
	if err != nil {
		return nil, 0, openError(path, err)
	}
	opened, err := f.Stat()
	if err == nil {
		err = regularOnly(path, opened.Mode(), viaLink)
	}
	if err == nil && !os.SameFile(checked, opened) {
		err = refuse(path, ErrSymlinkEscape, "changed while it was being checked")
	}
	if err != nil {
		f.Close()
		return nil, 0, openError(path, err)
	}
	return f, opened.Size(), nil
}

// resolve returns the absolute path with every link resolved, and whether
// any link was involved (the file itself or a folder on the way).
func resolve(path string) (real string, linked bool, err error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", false, openError(path, err)
	}
	real, err = filepath.EvalSymlinks(abs)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, refuse(path, ErrNotFound, "is a link to a file that does not exist")
	}
	if err != nil {
		return "", false, refuse(path, ErrSymlinkEscape, "is a link that cannot be followed (%s)", errorText(err))
	}
	return real, real != abs, nil
}

// insideRoots reports whether real lies inside one of roots (each resolved
// through its own links, as real was).
func insideRoots(real string, roots []string) bool {
	for _, root := range roots {
		r, err := filepath.Abs(root)
		if err != nil {
			continue
		}
		if rr, err := filepath.EvalSymlinks(r); err == nil {
			r = rr
		}
		rel, err := filepath.Rel(r, real)
		if err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel) {
			return true
		}
	}
	return false
}

// KindOf names, for a person, what kind of file mode describes ("a named pipe (FIFO)",
// "a folder", …).
func KindOf(mode fs.FileMode) string {
	switch {
	case mode.IsRegular():
		return "a regular file"
	case mode.IsDir():
		return "a folder"
	case mode&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case mode&fs.ModeSocket != 0:
		return "a socket"
	case mode&fs.ModeDevice != 0:
		return "a device"
	case mode&fs.ModeSymlink != 0:
		return "a link"
	}
	return "not a regular file"
}

// regularOnly refuses anything but a regular file, saying what it is.
func regularOnly(path string, mode fs.FileMode, viaLink bool) error {
	if mode.IsRegular() {
		return nil
	}
	what := KindOf(mode)
	if viaLink {
		return refuse(path, ErrNotRegularFile, "is a link to %s, not to a regular file", what)
	}
	return refuse(path, ErrNotRegularFile, "is %s, not a regular file", what)
}

// openError turns an error from Lstat or open into an *Error.
func openError(path string, err error) error {
	var e *Error
	switch {
	case errors.As(err, &e):
		return err
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		return refuse(path, ErrNotFound, "does not exist")
	case errors.Is(err, fs.ErrPermission), errors.Is(err, syscall.EROFS):
		return refuse(path, ErrPermission, "cannot be read: permission denied")
	case errors.Is(err, syscall.ELOOP), errors.Is(err, syscall.EMLINK):
		// O_NOFOLLOW met a link where Lstat saw a file: swapped meanwhile.
		return refuse(path, ErrSymlinkEscape, "changed into a link while it was being checked")
	case errors.Is(err, syscall.ENAMETOOLONG):
		return refuse(path, ErrNotFound, "has a name too long for this system")
	}
	return refuse(path, ErrNotFound, "could not be opened (%s)", errorText(err))
}

// errorText is the system's reason without the path, which the message
// already names.
func errorText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err.Error()
	}
	return err.Error()
}

// readCapped reads r to the end but never more than limit+1 bytes, so the
// caller can tell a file that grew past the cap. size (from Stat) sizes the
// buffer so that a file that does not change is read without copying.
func readCapped(r io.Reader, size, limit int64) ([]byte, error) {
	data := make([]byte, 0, min(max(size, 0), limit)+1)
	lr := io.LimitReader(r, limit+1)
	for {
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
		n, err := lr.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if err == io.EOF {
			return data, nil
		}
		if err != nil {
			return nil, err
		}
	}
}
