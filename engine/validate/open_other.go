//go:build !unix

package validate

import "os"

// openNoFollow opens path read-only. Systems without O_NOFOLLOW (Windows)
// rely on the Lstat before and the SameFile check after opening, and have
// no FIFOs to block on.
func openNoFollow(path string) (*os.File, error) {
	return os.Open(path)
}
