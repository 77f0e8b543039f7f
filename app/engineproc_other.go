//go:build !linux

package app

import (
	"io/fs"
	"syscall"
)

// engineProcAttr: off Linux the engine is a plain child in its own process group.
func engineProcAttr(isolate bool) *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// closeOnExecAll does nothing off Linux.
func closeOnExecAll() {}

// hardenApp does nothing off Linux.
func hardenApp() {}

func ownedByMe(fs.FileInfo) bool { return true }
