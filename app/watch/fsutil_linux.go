//go:build linux

package watch

import (
	"os"
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
