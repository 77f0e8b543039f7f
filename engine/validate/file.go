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
// roots are the folders the user named. A path inside one of them is opened
// as FileIn opens it: beneath the root, never through a link below it (a
// link inside a named folder, or a folder on the way swapped for one, is
// refused). Any other path is one the user named directly, and its links
// are followed (a link named on purpose means its target); the target is
// then opened beneath its own folder without following a link, so it cannot
// be swapped between the check and the open either.
func File(path string, lim Limits, roots ...string) (Info, []byte, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return Info{}, nil, openError(path, err)
	}
	if root, rel, ok := within(abs, roots); ok {
		return fileIn(path, root, rel, lim, inFolder)
	}
	real, err := filepath.EvalSymlinks(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		if _, lerr := os.Lstat(abs); lerr == nil {
			return Info{}, nil, refuse(path, ErrNotFound, "is a link to a file that does not exist")
		}
		return Info{}, nil, refuse(path, ErrNotFound, "does not exist")
	case err != nil:
		return Info{}, nil, refuse(path, ErrSymlinkEscape, "is a link that cannot be followed (%s)",
			strings.TrimPrefix(errorText(err), "EvalSymlinks: "))
	}
	how := named
	if real != abs {
		how = namedLink
	}
	return fileIn(path, filepath.Dir(real), filepath.Base(real), lim, how)
}

// FileIn is File for a file found in a folder the user named: rel (a path
// relative to root) is opened beneath root, and no link below root is ever
// followed — not the file's, not a folder's on the way, even one swapped in
// while the file is opened. name is how messages call the file (the path as
// the user sees it) and gives the extension to check.
func FileIn(name, root, rel string, lim Limits) (Info, []byte, error) {
	return fileIn(name, root, rel, lim, inFolder)
}

// reached says how the caller came to a file, which decides what a link on
// its way means.
type reached int

const (
	inFolder  reached = iota // found in a named folder: links below it are refused
	named                    // named directly, no link involved
	namedLink                // named directly through a link, which was followed
)

func fileIn(name, root, rel string, lim Limits, how reached) (Info, []byte, error) {
	lim = lim.Resolved()
	f, size, err := openIn(name, root, rel, how)
	if err != nil {
		return Info{}, nil, err
	}
	defer f.Close()
	if size > lim.MaxBytes {
		return Info{}, nil, tooLarge(name, size, lim.MaxBytes)
	}
	data, err := readCapped(f, size, lim.MaxBytes)
	if err != nil {
		return Info{}, nil, refuse(name, ErrCorrupt, "could not be read completely (%v)", errorText(err))
	}
	if int64(len(data)) > lim.MaxBytes {
		return Info{}, nil, tooLarge(name, 0, lim.MaxBytes) // it grew while being read
	}
	info, err := Bytes(name, data, lim)
	if err != nil {
		return Info{}, nil, err
	}
	return info, data, nil
}

// within finds the root that abs lies strictly inside (the deepest, when
// roots nest), by the names alone: whether a link is on the way is for the
// open beneath the root to find out.
func within(abs string, roots []string) (root, rel string, ok bool) {
	for _, r := range roots {
		r, err := filepath.Abs(r)
		if err != nil {
			continue
		}
		p, err := filepath.Rel(r, abs)
		if err != nil || p == "." || !filepath.IsLocal(p) {
			continue
		}
		if !ok || len(r) > len(root) {
			root, rel, ok = r, p, true
		}
	}
	return root, rel, ok
}

// linkRefusal is the refusal of a link met at a file (final) or on its way
// (a folder), worded for how the file was reached.
func linkRefusal(name string, how reached, final bool) error {
	switch {
	case how != inFolder:
		return refuse(name, ErrSymlinkEscape, "changed into a link while it was being checked")
	case final:
		return refuse(name, ErrSymlinkEscape, "is a link, and links inside the folders you named are not followed (name the link itself to use its target)")
	}
	return refuse(name, ErrSymlinkEscape, "is reached through a linked folder, and links inside the folders you named are not followed")
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
func regularOnly(path string, mode fs.FileMode, how reached) error {
	if mode.IsRegular() {
		return nil
	}
	what := KindOf(mode)
	if how == namedLink {
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
	case errors.Is(err, syscall.EXDEV):
		return refuse(path, ErrSymlinkEscape, "leads outside the folders you named")
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
