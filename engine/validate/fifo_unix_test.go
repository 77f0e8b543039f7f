//go:build unix

package validate

import (
	"syscall"
	"testing"
)

func mkfifo(tb testing.TB, path string) string {
	tb.Helper()
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		tb.Skipf("cannot make a FIFO here: %v", err)
	}
	return path
}
