package sandbox

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestMain lets the test binary be the process that locks itself down (a test cannot lock
// down the process that runs the other tests).
func TestMain(m *testing.M) {
	if mode := os.Getenv("CUTOUT_SANDBOX_CHILD"); mode != "" {
		os.Exit(lockedChild(mode == "landlock"))
	}
	os.Exit(m.Run())
}

// lockedChild starts threads, locks down (or, with landlockOnly, applies only the Landlock
// layer, so that seccomp does not hide what it does), then tries to open a file and make a
// socket on every one of those threads and on a thread started afterwards; it prints one line
// per try.
func lockedChild(landlockOnly bool) int {
	r, err := Prepare(1<<40, ParentNamespaces())
	if err != nil {
		fmt.Println("prepare:", err)
		return 1
	}
	const n = 6
	start, results := make(chan bool), make(chan string)
	try := func(who string) {
		_, ferr := unix.Open("/etc/hostname", unix.O_RDONLY, 0)
		_, serr := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
		results <- fmt.Sprintf("%s tid %d: open %v, socket %v", who, unix.Gettid(), ferr, serr)
	}
	for i := 0; i < n; i++ {
		go func() {
			runtime.LockOSThread() // a thread that exists before the lockdown, kept
			<-start
			try("earlier thread")
		}()
	}
	lock := func() error { return r.Lockdown(false) }
	if landlockOnly {
		lock = func() error { return landlockAll(r) }
	}
	if err := lock(); err != nil {
		fmt.Println("lockdown:", err)
		return 1
	}
	close(start)
	for i := 0; i < n; i++ {
		fmt.Println(<-results)
	}
	go func() {
		runtime.LockOSThread()
		try("later thread")
	}()
	fmt.Println(<-results)
	fmt.Println("layers:", r.String())
	return 0
}

// TestLockdownCoversEveryThread: after Lockdown no thread of the process can open a file or
// make a socket — those that existed before it (Landlock is applied to each of them by
// signal) and one started after. Landlock alone is checked too (seccomp refuses openat before
// Landlock is asked): every open is EACCES on every thread.
func TestLockdownCoversEveryThread(t *testing.T) {
	if LandlockABI() < 1 {
		t.Skip("no Landlock on this kernel")
	}
	for _, c := range []struct{ mode, open, socket string }{
		{"full", "open operation not permitted", "socket operation not permitted"},
		{"landlock", "open permission denied", "socket <nil>"},
	} {
		t.Run(c.mode, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run", "^$")
			cmd.Env = append(os.Environ(), "CUTOUT_SANDBOX_CHILD="+c.mode, "GODEBUG=containermaxprocs=0,updatemaxprocs=0")
			out, err := cmd.CombinedOutput()
			t.Logf("%s", out)
			if err != nil {
				t.Fatalf("child: %v", err)
			}
			lines := 0
			for _, l := range strings.Split(string(out), "\n") {
				if !strings.Contains(l, " thread tid ") {
					continue
				}
				lines++
				if !strings.Contains(l, c.open) || !strings.Contains(l, c.socket) {
					t.Errorf("want %q and %q: %s", c.open, c.socket, l)
				}
			}
			if lines != 7 {
				t.Errorf("%d threads reported, want 7", lines)
			}
			if c.mode == "full" {
				for _, layer := range []string{"landlock (ABI", "seccomp (allowlist", "no capabilities"} {
					if !strings.Contains(string(out), layer) {
						t.Errorf("layer %q missing", layer)
					}
				}
			}
		})
	}
}

// TestAllowlistAssembles: every name exists on this architecture and the program fits BPF's
// limits, with and without the GPU additions.
func TestAllowlistAssembles(t *testing.T) {
	for _, names := range [][]string{allowlist, append(append([]string{}, allowlist...), gpuAllowlist...)} {
		prog, err := allowlistProgram(names, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(prog) > 4096 {
			t.Fatalf("%d instructions", len(prog))
		}
	}
	for _, banned := range []string{"socket", "execve", "fork", "ptrace", "setns", "unshare", "io_uring_setup",
		"bpf", "perf_event_open", "openat", "open", "kill", "ioctl", "connect", "mount"} {
		for _, name := range allowlist {
			if name == banned {
				t.Errorf("%s is in the allowlist", name)
			}
		}
	}
}

func TestReportLines(t *testing.T) {
	r := &Report{}
	r.active("landlock", "ABI 7")
	r.missing("own namespaces", "shares net with the app")
	if got := r.String(); got != "landlock (ABI 7); no own namespaces: shares net with the app" {
		t.Fatalf("%q", got)
	}
	if m := r.Missing(); len(m) != 1 || m[0].Name != "own namespaces" {
		t.Fatalf("%v", m)
	}
}
