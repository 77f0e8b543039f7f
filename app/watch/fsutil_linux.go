//go:build linux

package watch

import (
	"os"
	"strconv"
	"syscall"
)

// lockFile takes an exclusive lock on f without waiting; the system drops it when the
// process ends, however it ends.
func lockFile(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}

// syncData flushes f's data (and the metadata needed to read it back) to disk.
func syncData(f *os.File) error {
	return syscall.Fdatasync(int(f.Fd()))
}

// openRegular opens path read-only without following a final link, without blocking on a
// FIFO and without acquiring a terminal.
func openRegular(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
}

// openedInside reports whether the open file f lies inside root, by the kernel's account of
// its path; without /proc it relies on O_NOFOLLOW and the Handler's own checks.
func openedInside(f *os.File, root string) bool {
	p, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(int(f.Fd())))
	if err != nil {
		return true
	}
	_, ok := inside(root, p)
	return ok
}
