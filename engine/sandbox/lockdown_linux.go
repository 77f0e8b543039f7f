package sandbox

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// Unprivileged is the id the engine drops to when it starts as root inside its user
// namespace (the app maps it to the host's nobody).
const Unprivileged = 65534

// Lockdown is the engine's second step, once its model is loaded and its ONNX Runtime
// session exists: from here on it needs only its pipes, memory and threads, and gets nothing
// else. It adds each layer to r; an error means the engine must not go on. gpu adds the
// calls a GPU driver makes on the devices it opened while loading (gpuAllowlist).
func (r *Report) Lockdown(gpu bool) error {
	// Landlock first: it lists the threads in /proc/self/task, which the id change makes
	// unreadable (a process that changes ids stops being dumpable).
	if err := landlockAll(r); err != nil {
		return err
	}
	if err := dropIDs(r); err != nil {
		return err
	}
	// The engine opens nothing from here on; a file it was somehow handed cannot grow.
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: maxFiles, Max: maxFiles}); err != nil {
		return fmt.Errorf("limiting descriptors: %w", err)
	}
	if err := unix.Setrlimit(unix.RLIMIT_FSIZE, &unix.Rlimit{}); err != nil {
		return fmt.Errorf("limiting file size: %w", err)
	}
	r.active("limits", fmt.Sprintf("%d descriptors, no file writes, no core file", maxFiles))
	names := allowlist
	detail := fmt.Sprintf("allowlist of %d system calls, every other refused (EPERM)", len(names))
	if gpu {
		names = append(append([]string{}, allowlist...), gpuAllowlist...)
		detail = fmt.Sprintf("allowlist of %d system calls with the GPU driver's ioctl and poll, every other refused (EPERM)", len(names))
	}
	if err := installAllowlist(names); err != nil {
		return fmt.Errorf("installing the seccomp allowlist: %w", err)
	}
	r.active("seccomp", detail)
	return nil
}

// maxFiles caps the engine's descriptors once it is locked down: its three pipes and what
// the Go runtime may still need.
const maxFiles = 16

// dropIDs leaves root: inside its user namespace an engine started by root is uid 0 with every
// capability over its own namespaces; it becomes Unprivileged with none (glibc's setxid
// broadcast changes every thread, ONNX Runtime's included).
func dropIDs(r *Report) error {
	if os.Geteuid() == 0 {
		// syscall's, not unix's: with cgo it goes through glibc, which changes every thread.
		if err := syscall.Setgroups(nil); err != nil {
			return fmt.Errorf("dropping groups: %w", err)
		}
		if err := syscall.Setresgid(Unprivileged, Unprivileged, Unprivileged); err != nil {
			return fmt.Errorf("dropping to gid %d: %w", Unprivileged, err)
		}
		if err := syscall.Setresuid(Unprivileged, Unprivileged, Unprivileged); err != nil {
			return fmt.Errorf("dropping to uid %d: %w", Unprivileged, err)
		}
	}
	capEff := capabilities()
	if os.Geteuid() == 0 || capEff != "0000000000000000" {
		return fmt.Errorf("the engine still has privileges (uid %d, capabilities %s)", os.Geteuid(), capEff)
	}
	r.active("ids", fmt.Sprintf("uid %d, gid %d, no capabilities", os.Getuid(), os.Getgid()))
	return nil
}

// capabilities is the calling thread's effective capability set, in hex as /proc shows it.
func capabilities() string {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return "unknown"
	}
	return fmt.Sprintf("%08x%08x", data[1].Effective, data[0].Effective)
}
