//go:build !linux

package watch

import "os"

// lockFile is a no-op where Cutout has no file locks; one watch per output folder is then
// the user's care.
func lockFile(f *os.File) error { return nil }

// syncData flushes f to disk.
func syncData(f *os.File) error { return f.Sync() }
