package sandbox

/*
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_landlock_restrict_self
#define SYS_landlock_restrict_self 446
#endif

#define CUTOUT_MAX_THREADS 4096

static int cutout_ruleset = -1;
static int cutout_signo;
static atomic_int cutout_acks;
static atomic_int cutout_failed;
static atomic_int cutout_tids[CUTOUT_MAX_THREADS];
static struct sigaction cutout_saved;

// Runs on each thread: no_new_privs is per thread and Landlock requires it; the ruleset then
// restricts this thread (and every thread it starts from now on).
static void cutout_restrict(int sig, siginfo_t *info, void *ctx) {
	int saved = errno;
	long r = syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L);
	if (r == 0) r = syscall(SYS_landlock_restrict_self, cutout_ruleset, 0);
	if (r != 0) atomic_fetch_add(&cutout_failed, 1);
	int i = atomic_fetch_add(&cutout_acks, 1);
	if (i < CUTOUT_MAX_THREADS) atomic_store(&cutout_tids[i], (int)syscall(SYS_gettid));
	errno = saved;
}

static void cutout_self(void) { cutout_restrict(0, NULL, NULL); }

static int cutout_begin(int fd) {
	cutout_ruleset = fd;
	cutout_signo = SIGRTMIN + 6; // not one glibc or the Go runtime uses
	atomic_store(&cutout_acks, 0);
	atomic_store(&cutout_failed, 0);
	for (int i = 0; i < CUTOUT_MAX_THREADS; i++) atomic_store(&cutout_tids[i], 0);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = cutout_restrict;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	return sigaction(cutout_signo, &sa, &cutout_saved) == 0 ? 0 : errno;
}

static void cutout_end(void) { sigaction(cutout_signo, &cutout_saved, NULL); }

static int cutout_signal(int pid, int tid) {
	return syscall(SYS_tgkill, pid, tid, cutout_signo) == 0 ? 0 : errno;
}

static int cutout_ack_count(void) { return atomic_load(&cutout_acks); }
static int cutout_failures(void) { return atomic_load(&cutout_failed); }
static int cutout_acked(int i) { return i < CUTOUT_MAX_THREADS ? atomic_load(&cutout_tids[i]) : 0; }
*/
import "C"

import (
	"fmt"
	"syscall"
)

func broadcastBegin(fd int) error {
	if e := C.cutout_begin(C.int(fd)); e != 0 {
		return fmt.Errorf("installing the confinement signal handler: %w", syscall.Errno(e))
	}
	return nil
}

func broadcastEnd() { C.cutout_end() }

// broadcastSelf runs the handler's work on the calling thread.
func broadcastSelf() { C.cutout_self() }

func broadcastSignal(pid, tid int) error {
	if e := C.cutout_signal(C.int(pid), C.int(tid)); e != 0 {
		return syscall.Errno(e)
	}
	return nil
}

func broadcastAcks() int   { return int(C.cutout_ack_count()) }
func broadcastFailed() int { return int(C.cutout_failures()) }

func broadcastAcked() []int {
	n := broadcastAcks()
	out := make([]int, 0, n)
	for i := 0; i < n; i++ {
		if t := int(C.cutout_acked(C.int(i))); t != 0 {
			out = append(out, t)
		}
	}
	return out
}
