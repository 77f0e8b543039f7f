package sandbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Landlock access rights by the ABI that introduced them; a ruleset handles those the kernel
// knows and, with no rule added, allows none of them.
var (
	fsRights = [...]uint64{
		1: unix.LANDLOCK_ACCESS_FS_EXECUTE | unix.LANDLOCK_ACCESS_FS_WRITE_FILE | unix.LANDLOCK_ACCESS_FS_READ_FILE |
			unix.LANDLOCK_ACCESS_FS_READ_DIR | unix.LANDLOCK_ACCESS_FS_REMOVE_DIR | unix.LANDLOCK_ACCESS_FS_REMOVE_FILE |
			unix.LANDLOCK_ACCESS_FS_MAKE_CHAR | unix.LANDLOCK_ACCESS_FS_MAKE_DIR | unix.LANDLOCK_ACCESS_FS_MAKE_REG |
			unix.LANDLOCK_ACCESS_FS_MAKE_SOCK | unix.LANDLOCK_ACCESS_FS_MAKE_FIFO | unix.LANDLOCK_ACCESS_FS_MAKE_BLOCK |
			unix.LANDLOCK_ACCESS_FS_MAKE_SYM,
		2: unix.LANDLOCK_ACCESS_FS_REFER,
		3: unix.LANDLOCK_ACCESS_FS_TRUNCATE,
		5: unix.LANDLOCK_ACCESS_FS_IOCTL_DEV,
	}
	netRights = [...]uint64{4: unix.LANDLOCK_ACCESS_NET_BIND_TCP | unix.LANDLOCK_ACCESS_NET_CONNECT_TCP}
	scopes    = [...]uint64{6: unix.LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | unix.LANDLOCK_SCOPE_SIGNAL}
)

// landlockAttr is struct landlock_ruleset_attr up to ABI 6 (scoped).
type landlockAttr struct {
	fs, net, scoped uint64
}

func upTo[T ~uint64](rights []T, abi int) T {
	var all T
	for v := 1; v < len(rights) && v <= abi; v++ {
		all |= rights[v]
	}
	return all
}

// LandlockABI is the kernel's Landlock ABI version (0: none).
func LandlockABI() int {
	v, _, e := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if e != 0 {
		return 0
	}
	return int(v)
}

// landlockAll applies a domain that allows nothing to every thread of the process. Landlock
// (before ABI 8) restricts only the thread that asks, and ONNX Runtime has started its thread
// pool by now, with pthread_create calls that no Go-side wrapper sees: every thread listed in
// /proc/self/task is made to restrict itself from a signal handler (threads it starts later
// inherit the domain), then the list is read again until it holds no thread not yet done.
func landlockAll(r *Report) error {
	abi := LandlockABI()
	if abi < 1 {
		r.missing("landlock", "the kernel has no Landlock (only seccomp keeps the engine from files)")
		return nil
	}
	attr := landlockAttr{fs: upTo(fsRights[:], abi), net: upTo(netRights[:], abi), scoped: upTo(scopes[:], abi)}
	size := unsafe.Sizeof(attr)
	if abi < 4 {
		size = 8
	} else if abi < 6 {
		size = 16
	}
	fd, _, e := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(&attr)), size, 0)
	if e != 0 {
		return fmt.Errorf("creating the Landlock ruleset: %w", e)
	}
	defer unix.Close(int(fd))
	if abi >= 8 {
		_, _, e = unix.Syscall(unix.SYS_LANDLOCK_RESTRICT_SELF, fd, unix.LANDLOCK_RESTRICT_SELF_TSYNC, 0)
		if e != 0 {
			return fmt.Errorf("applying the Landlock ruleset: %w", e)
		}
	} else if err := restrictEveryThread(int(fd)); err != nil {
		return err
	}
	detail := fmt.Sprintf("ABI %d: no file may be opened, created, executed or listed", abi)
	if abi >= 4 {
		detail += ", no TCP"
	}
	if abi >= 6 {
		detail += ", abstract UNIX sockets and signals scoped to the engine"
	}
	r.active("landlock", detail)
	return nil
}

// restrictEveryThread has each thread apply ruleset fd to itself (see landlockAll). This
// thread goes last: until then it can still read /proc, which it needs to translate the host's
// thread ids that /proc lists into the ids of the engine's PID namespace that tgkill takes.
// It is locked to its OS thread meanwhile, so the Go runtime starts no thread from it (a
// locked thread's new threads come from the runtime's template thread, restricted early).
func restrictEveryThread(fd int) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := broadcastBegin(fd); err != nil {
		return err
	}
	defer broadcastEnd()
	// Opened before this thread is restricted: it may still read it afterwards, though it
	// could not open it again.
	task, err := os.Open("/proc/self/task")
	if err != nil {
		return fmt.Errorf("listing the engine's threads: %w", err)
	}
	defer task.Close()
	self, err := hostTID()
	if err != nil {
		return fmt.Errorf("finding the engine's own thread: %w", err)
	}
	pid := os.Getpid()
	signalled := map[int]int{} // host tid → namespace tid
	for round := 0; ; round++ {
		tids, err := threadIDs(task)
		if err != nil {
			return fmt.Errorf("listing the engine's threads: %w", err)
		}
		fresh := 0
		for _, host := range tids {
			if host == self {
				continue
			}
			if _, done := signalled[host]; done {
				continue
			}
			ns, err := namespaceTID(host)
			if err != nil {
				continue // it has exited
			}
			switch err := broadcastSignal(pid, ns); {
			case errors.Is(err, unix.ESRCH):
				continue
			case err != nil:
				return fmt.Errorf("signalling thread %d: %w", ns, err)
			}
			signalled[host] = ns
			fresh++
		}
		if fresh == 0 {
			break
		}
		if round > 100 {
			return errors.New("the engine's threads keep changing; cannot confine them all")
		}
		if err := awaitAcks(signalled); err != nil {
			return err
		}
	}
	broadcastSelf()
	if failed := broadcastFailed(); failed > 0 {
		return fmt.Errorf("%d of the engine's threads could not apply the Landlock ruleset", failed)
	}
	// Every thread alive now must have confined itself (or been started by one that had).
	tids, err := threadIDs(task)
	if err != nil {
		return fmt.Errorf("listing the engine's threads: %w", err)
	}
	acked := map[int]bool{}
	for _, t := range broadcastAcked() {
		acked[t] = true
	}
	for _, host := range tids {
		if ns, ok := signalled[host]; host != self && (!ok || !acked[ns]) {
			return fmt.Errorf("thread %d of the engine was not confined", host)
		}
	}
	return nil
}

// awaitAcks waits until every signalled thread has run the handler, or has exited.
func awaitAcks(signalled map[int]int) error {
	deadline := time.Now().Add(2 * time.Second)
	for {
		acked := map[int]bool{}
		for _, t := range broadcastAcked() {
			acked[t] = true
		}
		waiting := 0
		for host, ns := range signalled {
			if !acked[ns] {
				if _, err := namespaceTID(host); err == nil {
					waiting++
				}
			}
		}
		if waiting == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of the engine's threads did not confine themselves in time", waiting)
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// hostTID is this thread's id as /proc lists it (the host's PID namespace).
func hostTID() (int, error) {
	link, err := os.Readlink("/proc/thread-self")
	if err != nil {
		return 0, err
	}
	_, tid, _ := strings.Cut(link, "/task/")
	return strconv.Atoi(tid)
}

// namespaceTID is the id, in the engine's own PID namespace, of the thread /proc lists as
// host: the last field of its NSpid line.
func namespaceTID(host int) (int, error) {
	data, err := os.ReadFile("/proc/self/task/" + strconv.Itoa(host) + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "NSpid:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				return strconv.Atoi(f[len(f)-1])
			}
		}
	}
	return host, nil // a kernel without NSpid has no nested PID namespaces either
}

// threadIDs reads the task folder afresh (from its start) through its open descriptor.
func threadIDs(task *os.File) ([]int, error) {
	if _, err := task.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	names, err := task.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	tids := make([]int, 0, len(names))
	for _, name := range names {
		if n, err := strconv.Atoi(name); err == nil {
			tids = append(tids, n)
		}
	}
	return tids, nil
}
