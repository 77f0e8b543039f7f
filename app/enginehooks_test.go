package app

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"cutout/engine/proto"
)

// The engine's test-only misbehaviours, chosen by the job's name ("hook:NAME" or
// "hook:connect:ADDR"); the shipped binary has none (engineTestHook is nil there). They run
// where a hijacked decoder would: inside the confined engine, while it serves a job.
func init() {
	engineTestHook = func(j *proto.Job) string {
		hook, ok := strings.CutPrefix(j.Name, "hook:")
		if !ok {
			return ""
		}
		// A file named "hook:crash.png" in a batch or a hot folder acts like the job.
		hook = strings.TrimSuffix(hook, ".png")
		switch {
		case hook == "hang":
			select {}
		case hook == "alloc":
			for {
				b := make([]byte, 64<<20)
				for i := 0; i < len(b); i += 4096 {
					b[i] = 1
				}
				hoard = append(hoard, b) // kept reachable (a package variable): the memory stays used
			}
		case hook == "crash":
			var p *int
			_ = *p // a real segmentation fault inside the engine
		case hook == "garbage":
			// Bytes that are not a frame, straight onto the protocol pipe.
			os.Stdout.Write([]byte{0, 0, 0, 5, 99, 1, 2, 3, 4})
			select {}
		case hook == "escape":
			var p escapeParams
			if err := json.Unmarshal(j.Data, &p); err != nil {
				return "bad escape parameters: " + err.Error()
			}
			return tryEscapes(p)
		case strings.HasPrefix(hook, "connect:"):
			c, err := net.DialTimeout("tcp", hook[len("connect:"):], 2*time.Second)
			if err != nil {
				return "connect failed: " + err.Error()
			}
			c.Close()
			return "connect succeeded"
		}
		return ""
	}
}

// escapeParams are the targets a compromised engine goes for.
type escapeParams struct {
	UserFile  string // a file of the user's, readable by anyone
	OutDir    string // a folder anyone may write to (an output folder)
	UnixPath  string // a listening AF_UNIX socket (D-Bus, X11, …)
	Abstract  string // a listening abstract AF_UNIX socket name
	AppPID    int    // the app, as the host sees it
	Inherited []int  // descriptors the app inherited without close-on-exec
}

// escape is one attempt: its name, and its error (nil: it worked, the sandbox failed).
type escape struct {
	name string
	err  error
}

func errnoOf(r uintptr, e syscall.Errno) error {
	if e != 0 {
		return e
	}
	return nil
}

// tryEscapes tries every escape and reports one line each: "name: blocked (reason)" or
// "name: ESCAPED".
func tryEscapes(p escapeParams) string {
	var out []escape
	try := func(name string, err error) { out = append(out, escape{name, err}) }
	openFile := func(path string, flags int) error {
		fd, err := unix.Open(path, flags|unix.O_CLOEXEC, 0o644)
		if err == nil {
			unix.Close(fd)
		}
		return err
	}
	try("read /etc/passwd", openFile("/etc/passwd", unix.O_RDONLY))
	try("read a user's file", openFile(p.UserFile, unix.O_RDONLY))
	try("create a file in OUT", openFile(p.OutDir+"/escaped.png", unix.O_WRONLY|unix.O_CREAT))
	try("list /", openFile("/", unix.O_RDONLY|unix.O_DIRECTORY))
	try("open /etc/passwd as O_PATH", openFile("/etc/passwd", unix.O_PATH))
	try("open the app's network namespace", openFile(fmt.Sprintf("/proc/%d/ns/net", p.AppPID), unix.O_RDONLY))
	try("mkdir in OUT", unix.Mkdir(p.OutDir+"/escaped", 0o755))
	try("exec /bin/sh", unix.Exec("/bin/sh", []string{"sh", "-c", "true"}, nil))
	for _, f := range []struct {
		name      string
		fam, kind int
	}{{"AF_UNIX", unix.AF_UNIX, unix.SOCK_STREAM}, {"AF_INET", unix.AF_INET, unix.SOCK_STREAM},
		{"AF_INET6", unix.AF_INET6, unix.SOCK_DGRAM}, {"AF_NETLINK", unix.AF_NETLINK, unix.SOCK_RAW},
		{"AF_PACKET", unix.AF_PACKET, unix.SOCK_RAW}, {"AF_VSOCK", unix.AF_VSOCK, unix.SOCK_STREAM},
		{"AF_ALG", unix.AF_ALG, unix.SOCK_SEQPACKET}} {
		fd, err := unix.Socket(f.fam, f.kind|unix.SOCK_CLOEXEC, 0)
		if err == nil && f.fam == unix.AF_UNIX {
			err = unix.Connect(fd, &unix.SockaddrUnix{Name: p.UnixPath})
			if err == nil {
				unix.Write(fd, []byte("ESCAPE"))
			}
		}
		if fd >= 0 {
			unix.Close(fd)
		}
		try("socket "+f.name, err)
	}
	_, _, e := unix.RawSyscall6(unix.SYS_SOCKETPAIR, unix.AF_UNIX, unix.SOCK_STREAM, 0, uintptr(unsafe.Pointer(&[2]int32{})), 0, 0)
	try("socketpair AF_UNIX", errnoOf(0, e))
	try("fork", rawFork(unix.SYS_FORK, 0))
	try("vfork", rawFork(unix.SYS_VFORK, 0))
	try("clone a process", rawFork(unix.SYS_CLONE, uintptr(unix.SIGCHLD)))
	try("setsid child", rawFork(unix.SYS_CLONE, uintptr(unix.SIGCHLD|unix.CLONE_NEWPID)))
	try("signal the app", unix.Kill(p.AppPID, 0))
	try("signal pid 1 of the host view", unix.Kill(-1, 0))
	try("tgkill the app", unix.Tgkill(p.AppPID, p.AppPID, 0))
	_, _, e = unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_SEIZE, uintptr(p.AppPID), 0, 0, 0, 0)
	if e == 0 {
		unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_DETACH, uintptr(p.AppPID), 0, 0, 0, 0)
	}
	try("ptrace the app", errnoOf(0, e))
	_, _, e = unix.RawSyscall(unix.SYS_PIDFD_OPEN, uintptr(p.AppPID), 0, 0)
	try("pidfd_open the app", errnoOf(0, e))
	try("setns", unix.Setns(0, unix.CLONE_NEWNET))
	try("unshare a user namespace", unix.Unshare(unix.CLONE_NEWUSER))
	try("mount a tmpfs", unix.Mount("none", "/tmp", "tmpfs", 0, ""))
	try("chroot", unix.Chroot("/"))
	_, _, e = unix.RawSyscall(unix.SYS_SETUID, 0, 0, 0)
	try("setuid 0", errnoOf(0, e))
	ch := byte('x')
	_, _, e = unix.Syscall(unix.SYS_IOCTL, 2, unix.TIOCSTI, uintptr(unsafe.Pointer(&ch)))
	try("TIOCSTI on the terminal it was handed", errnoOf(0, e))
	for _, fd := range p.Inherited {
		_, err := unix.Write(fd, []byte("ESCAPE"))
		try(fmt.Sprintf("write to inherited descriptor %d", fd), err)
	}
	_, _, e = unix.RawSyscall(unix.SYS_IO_URING_SETUP, 1, uintptr(unsafe.Pointer(&[30]uint32{})), 0)
	try("io_uring_setup", errnoOf(0, e))
	_, _, e = unix.RawSyscall(unix.SYS_BPF, 5, 0, 0)
	try("bpf", errnoOf(0, e))
	_, _, e = unix.RawSyscall6(unix.SYS_PERF_EVENT_OPEN, 0, 0, ^uintptr(0), ^uintptr(0), 0, 0)
	try("perf_event_open", errnoOf(0, e))
	_, _, e = unix.RawSyscall(unix.SYS_MEMFD_CREATE, uintptr(unsafe.Pointer(&[]byte("x\x00")[0])), 0, 0)
	try("memfd_create", errnoOf(0, e))
	_, _, e = unix.RawSyscall(unix.SYS_USERFAULTFD, 0, 0, 0)
	try("userfaultfd", errnoOf(0, e))
	_, _, e = unix.RawSyscall6(unix.SYS_PROCESS_VM_READV, uintptr(p.AppPID), 0, 0, 0, 0, 0)
	try("process_vm_readv the app", errnoOf(0, e))
	// The x32 ABI (syscall numbers with bit 30 set) would bypass a filter that checks only
	// x86-64 numbers: getpid through it.
	_, _, e = unix.RawSyscall(0x40000000|unix.SYS_GETPID, 0, 0, 0)
	try("x32 getpid", errnoOf(0, e))

	var b strings.Builder
	for _, x := range out {
		if x.err == nil {
			fmt.Fprintf(&b, "%s: ESCAPED\n", x.name)
		} else {
			fmt.Fprintf(&b, "%s: blocked (%v)\n", x.name, x.err)
		}
	}
	return b.String()
}

// rawFork makes a new process with fork, vfork or clone; a child that does come to be exits
// at once, before it runs any Go code.
func rawFork(trap, flags uintptr) error {
	pid, _, e := unix.RawSyscall6(trap, flags, 0, 0, 0, 0, 0)
	if e != 0 {
		return e
	}
	if pid == 0 {
		unix.RawSyscall(unix.SYS_EXIT, 0, 0, 0)
	}
	return nil
}

// hoard keeps the "alloc" hook's memory reachable, so the collector cannot free it.
var hoard [][]byte
