package app

import (
	"io/fs"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"cutout/engine/sandbox"
)

// engineProcAttr starts the engine in its own session (no controlling terminal: it cannot
// push keystrokes into the user's shell) and, with isolate, in its own user, PID, mount,
// IPC, UTS and network namespaces. Started by root, the engine is root only inside its user
// namespace, where host root and nobody are the only ids mapped: it drops to nobody (and every
// capability) once its model is loaded. Started by a user, it is that user inside, with no
// capabilities from the start.
func engineProcAttr(isolate bool) *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setsid: true}
	if !isolate {
		return attr
	}
	attr.Cloneflags = syscall.CLONE_NEWUSER | syscall.CLONE_NEWPID | syscall.CLONE_NEWNS |
		syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS | syscall.CLONE_NEWNET
	uid, gid := os.Getuid(), os.Getgid()
	if uid == 0 {
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1},
			{ContainerID: sandbox.Unprivileged, HostID: sandbox.Unprivileged, Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1},
			{ContainerID: sandbox.Unprivileged, HostID: sandbox.Unprivileged, Size: 1}}
		attr.GidMappingsEnableSetgroups = true // so that the engine can drop root's groups
		return attr
	}
	attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}}
	attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}}
	return attr
}

// closeOnExecAll marks every descriptor from 3 up close-on-exec.
func closeOnExecAll() {
	if err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err == nil {
		return
	}
	entries, _ := os.ReadDir("/proc/self/fd")
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd >= 3 {
			unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC)
		}
	}
}

// hardenApp keeps the engine (and anything else) from reading or tracing this process:
// not dumpable means no ptrace attach and /proc/PID files readable by root only.
func hardenApp() { _ = unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0) }

func ownedByMe(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Getuid()
}
