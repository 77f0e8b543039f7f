package sandbox

import "golang.org/x/sys/unix"

// allowlist is every system call a locked-down engine may make. Each was seen in recorded
// runs (TestAllowlistCoversRealRuns in app: strace while the engine cuts out every input
// format at 0.25–24 MP (HEIC and AVIF through libheif), a sideways phone photo and its
// warm-up, with both ISNet models), or
// is what a thread the Go runtime or glibc starts after the lockdown does first (clone,
// set_robust_list, rseq, sigaltstack, gettid, a stack's mmap). Everything else fails with
// EPERM: no socket of any family, no open of any path, no exec, no fork, no ptrace, no setns
// or unshare, no io_uring, bpf or perf_event_open. Calls whose arguments decide what they do
// are narrowed in allowlistConditions.
var allowlist = []string{
	// The protocol's pipes and stderr.
	"read", "write", "close",
	// Memory: the Go heap, ONNX Runtime's arena, glibc's malloc (mremap: realloc).
	"mmap", "munmap", "mremap", "mprotect", "madvise", "brk",
	// Threads and their synchronisation (clone is narrowed below).
	"clone", "futex", "set_robust_list", "rseq", "sched_yield", "sched_getaffinity",
	"gettid", "getpid",
	// Signals, within the engine (tgkill is narrowed below): the Go runtime preempts its
	// goroutines with SIGURG.
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "tgkill",
	// Time (clock_gettime is the vDSO's fallback).
	"clock_gettime", "clock_nanosleep", "nanosleep",
	// The Go runtime's poller waits in epoll_pwait; C++ random devices read getrandom.
	"epoll_pwait", "getrandom",
	// dav1d (libheif's AV1 decoder) names its worker threads (prctl is narrowed below).
	"prctl",
	"exit", "exit_group",
}

// gpuAllowlist is added for an engine whose session runs on CUDA: the driver talks to the
// devices it opened during the first run (before the lockdown) through ioctl and waits on
// them. This machine has no GPU: unlike allowlist it is not derived from a recorded run.
var gpuAllowlist = []string{"ioctl", "poll", "ppoll", "sched_setaffinity"}

// allowlistConditions narrows calls whose arguments decide what they do.
func allowlistConditions(pid int) map[string][]condition {
	return map[string][]condition{
		// Threads only: a clone without CLONE_THREAD would be a new process.
		"clone": {{arg: 0, bitsSet: unix.CLONE_THREAD}},
		// Signals to the engine's own threads only.
		"tgkill": {{arg: 0, equal: uint64(pid), isEqual: true}},
		// A thread may rename itself, nothing else: no PR_SET_DUMPABLE, PR_SET_PTRACER, ...
		"prctl": {{arg: 0, equal: unix.PR_SET_NAME, isEqual: true}},
	}
}

// condition is one argument test: bitsSet all set, or (isEqual) equal to equal.
type condition struct {
	arg     uint32
	bitsSet uint64
	equal   uint64
	isEqual bool
}
