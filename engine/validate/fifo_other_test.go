//go:build !unix

package validate

import "testing"

func mkfifo(tb testing.TB, path string) string {
	tb.Skip("no FIFOs on this system")
	return path
}
