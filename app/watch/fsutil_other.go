//go:build !linux

package watch

import "os"

// lockFile is a no-op where Cutout has no file locks; one watch per output folder is then
// the user's care.
func lockFile(f *os.File) error { return nil }

// syncData flushes f to disk.
func syncData(f *os.File) error { return f.Sync() }

// openRegular opens path read-only; the caller checks that it is a regular file.
func openRegular(path string) (*os.File, error) { return os.Open(path) }

// openedInside cannot check here; O_NOFOLLOW-less opening relies on the Handler's checks.
func openedInside(f *os.File, root string) bool { return true }
