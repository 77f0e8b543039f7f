//go:build unix

package validate

import (
	"os"
	"syscall"
)

// openNoFollow opens path read-only without following a final symbolic
// link, without blocking on a FIFO, without acquiring a terminal, and
// without leaking the descriptor to child processes.
func openNoFollow(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
}
