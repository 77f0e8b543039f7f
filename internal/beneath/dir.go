//go:build linux

package beneath

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ErrNotLocal means a name would lead out of its folder by itself ("..", an absolute path).
var ErrNotLocal = errors.New("leads outside its folder")

// Dir is an open folder. Names given to its methods are resolved beneath it and no link
// below it is followed.
type Dir struct {
	fd   int
	path string // for messages: where the folder was when opened
}

// noOpenat2 is set once openat2 turned out to be missing (ENOSYS: a kernel before 5.6, or
// a seccomp profile that refuses it); the component walk is then used directly.
var noOpenat2 atomic.Bool

// Mode says what a folder is opened for.
type Mode int

const (
	// Look opens a folder only as a place to open files in (O_PATH): that needs permission
	// to search it, not to read it.
	Look Mode = iota
	// Sync opens an existing folder so that it can also be flushed (Dir.Sync) after files
	// in it were renamed or removed.
	Sync
	// Create is Sync that first makes the folders that are missing (mode 0755).
	Create
)

func (m Mode) flags() int {
	if m == Look {
		return unix.O_PATH
	}
	return unix.O_RDONLY
}

// OpenRoot opens the folder at path, following its links: it is the folder the user named,
// and a link they named leads to the folder they mean. With Create, the folder (and its
// parents) is made first when missing.
func OpenRoot(path string, mode Mode) (*Dir, error) {
	if mode == Create {
		if err := os.MkdirAll(path, 0o755); err != nil {
			return nil, err
		}
	}
	fd, err := retry(func() (int, error) {
		return unix.Open(path, unix.O_DIRECTORY|unix.O_CLOEXEC|mode.flags(), 0)
	})
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return &Dir{fd: fd, path: path}, nil
}

// Path is where the folder was when it was opened.
func (d *Dir) Path() string { return d.path }

// Close releases the folder.
func (d *Dir) Close() error {
	if d == nil || d.fd < 0 {
		return nil
	}
	err := unix.Close(d.fd)
	d.fd = -1
	return err
}

// OpenDir opens the folder rel (a relative path; "." is d itself, opened anew) beneath d. A
// link on the way fails with ELOOP. With Create, missing folders are made on the way, each
// relative to the one before it.
func (d *Dir) OpenDir(rel string, mode Mode) (*Dir, error) {
	rel = filepath.Clean(rel)
	if !filepath.IsLocal(rel) && rel != "." {
		return nil, &fs.PathError{Op: "open", Path: d.join(rel), Err: ErrNotLocal}
	}
	if rel == "." {
		// Opened anew rather than duplicated, so that the mode is the one asked for.
		fd, err := retry(func() (int, error) {
			return unix.Openat(d.fd, ".", unix.O_DIRECTORY|unix.O_CLOEXEC|mode.flags(), 0)
		})
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: d.path, Err: err}
		}
		return &Dir{fd: fd, path: d.path}, nil
	}
	if mode != Create && !noOpenat2.Load() {
		fd, err := openat2(d.fd, rel, unix.O_DIRECTORY|unix.O_CLOEXEC|mode.flags())
		switch err {
		case nil:
			return &Dir{fd: fd, path: d.join(rel)}, nil
		case unix.ENOSYS:
			noOpenat2.Store(true)
		case unix.ENAMETOOLONG:
			// Longer than PATH_MAX as a whole: the walk takes it one name at a time.
		default:
			return nil, &fs.PathError{Op: "open", Path: d.join(rel), Err: err}
		}
	}
	return d.walk(rel, mode)
}

// walk opens rel one component at a time: each folder is opened relative to the one before
// with O_NOFOLLOW, so a link anywhere on the way is refused, as openat2 would.
func (d *Dir) walk(rel string, mode Mode) (*Dir, error) {
	fd := d.fd
	done := ""
	for _, name := range strings.Split(rel, string(filepath.Separator)) {
		next, err := openDirAt(fd, name, mode)
		if fd != d.fd {
			unix.Close(fd)
		}
		done = filepath.Join(done, name)
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: d.join(done), Err: err}
		}
		fd = next
	}
	return &Dir{fd: fd, path: d.join(rel)}, nil
}

// openDirAt opens the folder name in the folder dirfd without following a link (ELOOP for
// one), making it first with Create when it is missing.
func openDirAt(dirfd int, name string, mode Mode) (int, error) {
	made := false
	for try := 0; ; try++ {
		fd, err := retry(func() (int, error) {
			return unix.Openat(dirfd, name, unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC|mode.flags(), 0)
		})
		switch {
		case err == nil:
			return fd, nil
		case err == unix.ENOTDIR:
			// O_NOFOLLOW with O_DIRECTORY says ENOTDIR for a link: tell it apart. A folder
			// there now was something else a moment ago: it is being swapped; look again.
			var st unix.Stat_t
			if unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
				return -1, err
			}
			switch st.Mode & unix.S_IFMT {
			case unix.S_IFLNK:
				return -1, unix.ELOOP
			case unix.S_IFDIR:
				if try < 10 {
					continue
				}
				return -1, unix.ELOOP
			}
			return -1, err
		case err == unix.ENOENT && mode == Create && !made:
			made = true
			if err := unix.Mkdirat(dirfd, name, 0o755); err != nil && err != unix.EEXIST {
				return -1, err
			}
		default:
			return -1, err
		}
	}
}

// openat2 opens rel beneath dirfd, refusing every link (ELOOP) and any way out (EXDEV).
func openat2(dirfd int, rel string, flags int) (int, error) {
	how := unix.OpenHow{Flags: uint64(flags),
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS}
	return retry(func() (int, error) {
		fd, err := unix.Openat2(dirfd, rel, &how)
		if err == unix.EPERM {
			// A seccomp profile may refuse openat2 with EPERM instead of ENOSYS; opening
			// itself never fails with EPERM (permission is EACCES).
			err = unix.ENOSYS
		}
		return fd, err
	})
}

// retry repeats an open interrupted by a signal, or one that openat2 could not resolve
// safely because a rename raced with it (EAGAIN).
func retry(open func() (int, error)) (int, error) {
	for i := 0; ; i++ {
		fd, err := open()
		if (err == unix.EINTR || err == unix.EAGAIN) && i < 100 {
			continue
		}
		return fd, err
	}
}

func (d *Dir) join(name string) string { return filepath.Join(d.path, name) }

// local refuses a name that is not a single component.
func local(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsRune(name, filepath.Separator) {
		return ErrNotLocal
	}
	return nil
}

// Lstat describes the entry name (one component) of d without following a link.
func (d *Dir) Lstat(name string) (fs.FileInfo, error) {
	if err := local(name); err != nil {
		return nil, &fs.PathError{Op: "lstat", Path: d.join(name), Err: err}
	}
	var st unix.Stat_t
	for {
		err := unix.Fstatat(d.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "lstat", Path: d.join(name), Err: err}
		}
		return &statInfo{name: name, st: st}, nil
	}
}

// Open opens the entry name (one component) of d with flag (os.O_RDONLY, …), never
// following a link (ELOOP) and never leaking the descriptor to child processes.
func (d *Dir) Open(name string, flag int, perm fs.FileMode) (*os.File, error) {
	if err := local(name); err != nil {
		return nil, &fs.PathError{Op: "open", Path: d.join(name), Err: err}
	}
	fd, err := retry(func() (int, error) {
		return unix.Openat(d.fd, name, flag|unix.O_NOFOLLOW|unix.O_CLOEXEC, uint32(perm.Perm()))
	})
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: d.join(name), Err: err}
	}
	return os.NewFile(uintptr(fd), d.join(name)), nil
}

// tempSeq makes temporary names unique within the process; the time and pid make them
// unique across processes, and O_EXCL settles the rest.
var tempSeq atomic.Uint64

// CreateTemp creates a new file named prefix + something unique + suffix in d, for
// writing, with mode 0600; it never opens an existing file or a link.
func (d *Dir) CreateTemp(prefix, suffix string) (*os.File, string, error) {
	for i := 0; ; i++ {
		n := uint64(time.Now().UnixNano()) ^ uint64(os.Getpid())<<40 ^ tempSeq.Add(1)*0x9e3779b97f4a7c15
		name := prefix + strconv.FormatUint(n, 36) + suffix
		f, err := d.Open(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			return f, name, nil
		}
		if !errors.Is(err, fs.ErrExist) || i > 100 {
			return nil, "", err
		}
	}
}

// Link gives the file old of d a second name, new in to; it fails with EEXIST when new
// exists, whatever new is (a link there is not followed).
func (d *Dir) Link(old string, to *Dir, new string) error {
	if err := unix.Linkat(d.fd, old, to.fd, new, 0); err != nil {
		return &os.LinkError{Op: "link", Old: d.join(old), New: to.join(new), Err: err}
	}
	return nil
}

// Rename moves old of d to new in to, replacing what new names (the entry itself: a link
// there is replaced, not followed).
func (d *Dir) Rename(old string, to *Dir, new string) error {
	if err := unix.Renameat(d.fd, old, to.fd, new); err != nil {
		return &os.LinkError{Op: "rename", Old: d.join(old), New: to.join(new), Err: err}
	}
	return nil
}

// RenameNoReplace is Rename that fails with EEXIST when new exists (EINVAL where the file
// system cannot promise that).
func (d *Dir) RenameNoReplace(old string, to *Dir, new string) error {
	if err := unix.Renameat2(d.fd, old, to.fd, new, unix.RENAME_NOREPLACE); err != nil {
		return &os.LinkError{Op: "rename", Old: d.join(old), New: to.join(new), Err: err}
	}
	return nil
}

// Remove removes the file name of d (a link is removed, not followed).
func (d *Dir) Remove(name string) error {
	if err := unix.Unlinkat(d.fd, name, 0); err != nil {
		return &fs.PathError{Op: "remove", Path: d.join(name), Err: err}
	}
	return nil
}

// Sync flushes the folder's entries to disk, so a rename in it survives a crash. A folder
// opened only as a place cannot be flushed; that is not an error.
func (d *Dir) Sync() error {
	err := unix.Fsync(d.fd)
	if err == unix.EBADF || err == unix.EINVAL {
		return nil
	}
	return err
}

// SameFile reports whether two descriptions (from Lstat here, or from the os package) are
// of the same file.
func SameFile(a, b fs.FileInfo) bool {
	da, ia, ok1 := id(a)
	db, ib, ok2 := id(b)
	return ok1 && ok2 && da == db && ia == ib
}

func id(fi fs.FileInfo) (dev, ino uint64, ok bool) {
	if fi == nil {
		return 0, 0, false
	}
	switch st := fi.Sys().(type) {
	case *unix.Stat_t:
		return st.Dev, st.Ino, true
	case *syscall.Stat_t:
		return st.Dev, st.Ino, true
	}
	return 0, 0, false
}

// statInfo is an fs.FileInfo from fstatat.
type statInfo struct {
	name string
	st   unix.Stat_t
}

func (s *statInfo) Name() string       { return s.name }
func (s *statInfo) Size() int64        { return s.st.Size }
func (s *statInfo) ModTime() time.Time { return time.Unix(s.st.Mtim.Unix()) }
func (s *statInfo) IsDir() bool        { return s.Mode().IsDir() }
func (s *statInfo) Sys() any           { return &s.st }

func (s *statInfo) Mode() fs.FileMode {
	m := fs.FileMode(s.st.Mode & 0o777)
	switch s.st.Mode & unix.S_IFMT {
	case unix.S_IFBLK:
		m |= fs.ModeDevice
	case unix.S_IFCHR:
		m |= fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFDIR:
		m |= fs.ModeDir
	case unix.S_IFIFO:
		m |= fs.ModeNamedPipe
	case unix.S_IFLNK:
		m |= fs.ModeSymlink
	case unix.S_IFSOCK:
		m |= fs.ModeSocket
	}
	if s.st.Mode&unix.S_ISUID != 0 {
		m |= fs.ModeSetuid
	}
	if s.st.Mode&unix.S_ISGID != 0 {
		m |= fs.ModeSetgid
	}
	if s.st.Mode&unix.S_ISVTX != 0 {
		m |= fs.ModeSticky
	}
	return m
}

// SetOpenat2 turns the use of openat2 on or off and returns whether it was on. Off, every
// lookup takes the component walk that kernels before 5.6 get, which is just as strict;
// tests use it to cover that path.
func SetOpenat2(on bool) bool {
	return !noOpenat2.Swap(!on)
}
