package infer

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Confine restricts the engine process before it reads any untrusted byte: an address-space
// limit (RLIMIT_AS, so a decoding bomb or runaway allocation fails inside this process only),
// no new privileges, and a seccomp filter that refuses IPv4/IPv6 sockets (so even code that
// is tricked into it cannot reach the network). It returns a description for logs.
// Network namespaces are set up by the parent when it starts the process (see app).
func Confine(memLimit uint64) (string, error) {
	var parts []string
	if memLimit > 0 {
		lim := unix.Rlimit{Cur: memLimit, Max: memLimit}
		if err := unix.Setrlimit(unix.RLIMIT_AS, &lim); err != nil {
			return "", fmt.Errorf("setting the engine's memory limit: %w", err)
		}
		parts = append(parts, fmt.Sprintf("memory ≤ %d MiB", memLimit>>20))
	}
	// no_new_privs is per thread and the filter is installed by this thread for all threads
	// (TSYNC): both must happen on the same OS thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return "", fmt.Errorf("no_new_privs: %w", err)
	}
	if err := denyInetSockets(); err != nil {
		return "", fmt.Errorf("installing the seccomp filter: %w", err)
	}
	parts = append(parts, "seccomp: no IPv4/IPv6 sockets")
	if isolatedNetwork() {
		parts = append(parts, "own network namespace")
	}
	return strings.Join(parts, ", "), nil
}

// isolatedNetwork reports whether this process sees no network interface but loopback,
// i.e. runs in a fresh network namespace.
func isolatedNetwork() bool {
	data, err := os.ReadFile("/proc/self/net/dev")
	if err != nil {
		return false
	}
	lines := strings.Split(string(data), "\n")
	if len(lines) < 3 {
		return false
	}
	for _, line := range lines[2:] {
		name, _, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && name != "lo" {
			return false
		}
	}
	return true
}

// seccomp_data offsets.
const (
	offNr   = 0
	offArch = 4
	offArg0 = 16
)

func denyInetSockets() error {
	if auditArch == 0 {
		return nil // no filter for this architecture; the network namespace still applies
	}
	const (
		ld  = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		ret = unix.BPF_RET | unix.BPF_K
	)
	errno := uint32(unix.SECCOMP_RET_ERRNO | uint32(unix.EACCES))
	prog := []unix.SockFilter{
		{Code: ld, K: offArch},
		{Code: jeq, Jt: 1, Jf: 0, K: auditArch},
		{Code: ret, K: unix.SECCOMP_RET_KILL_PROCESS}, // foreign syscall ABI: refuse outright
		{Code: ld, K: offNr},
		{Code: jeq, Jt: 0, Jf: 1, K: uint32(unix.SYS_IO_URING_SETUP)},
		{Code: ret, K: errno}, // io_uring could open sockets past this filter
		{Code: jeq, Jt: 0, Jf: 3, K: uint32(unix.SYS_SOCKET)},
		{Code: ld, K: offArg0},
		{Code: jeq, Jt: 2, Jf: 0, K: unix.AF_INET},
		{Code: jeq, Jt: 1, Jf: 0, K: unix.AF_INET6},
		{Code: ret, K: unix.SECCOMP_RET_ALLOW},
		{Code: ret, K: errno},
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	_, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&fprog)))
	if e != 0 {
		return e
	}
	return nil
}
