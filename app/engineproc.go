package app

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"cutout/engine/infer"
	"cutout/engine/sandbox"
	"cutout/internal/quote"
)

// spawn starts `cutout engine` for c: in namespaces of its own where the system allows them
// (see engineProcAttr), with nothing but its three pipes, in its own session, with a scrubbed
// environment. Where namespaces cannot be had the engine starts without them, and the log
// says so once.
func (w *worker) spawn(c SupervisorConfig) (*exec.Cmd, io.ReadCloser, error) {
	lib, err := infer.FindLibrary()
	if err != nil {
		return nil, nil, err
	}
	args := append([]string{}, c.command[1:]...)
	args = append(args, "--lib", lib, "--models", c.ModelsDir, "--model", c.Model,
		"--threads", strconv.Itoa(c.Threads), "--memory", strconv.FormatUint(c.MemoryLimit, 10),
		"--parent-ns", sandbox.FormatNamespaces(sandbox.ParentNamespaces()))
	if c.Device != "" {
		args = append(args, "--device", c.Device)
	}
	if c.UnverifiedModel != "" {
		args = append(args, "--unverified-model", c.UnverifiedModel)
	}
	if c.Warm {
		args = append(args, "--warm")
	}
	isolate := !c.noNamespace && !noNamespaces.unavailable()
	cmd, stdout, err := w.start(c, args, isolate)
	if err != nil && isolate {
		noNamespaces.note(c.Notice, err)
		cmd, stdout, err = w.start(c, args, false)
	}
	return cmd, stdout, err
}

func (w *worker) start(c SupervisorConfig, args []string, isolate bool) (*exec.Cmd, io.ReadCloser, error) {
	cmd := exec.Command(c.command[0], args...)
	cmd.Dir = "/"
	// The Go runtime would otherwise keep a cgroup file open to re-read its CPU quota now
	// and then, which the locked-down engine can no longer do.
	cmd.Env = []string{"LANG=C.UTF-8", "GODEBUG=containermaxprocs=0,updatemaxprocs=0"}
	cmd.Stderr = w.stderr
	if c.stderr != nil {
		cmd.Stderr = c.stderr
	}
	cmd.SysProcAttr = engineProcAttr(isolate)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		stdin.Close()
		return nil, nil, err
	}
	// A descriptor this process inherited, or that a library opened, without close-on-exec
	// would otherwise reach the engine (the engine closes any that still do, first thing).
	closeOnExecAll()
	if err := cmd.Start(); err != nil {
		stdin.Close()
		stdout.Close()
		return nil, nil, err
	}
	w.stdin = stdin
	return cmd, stdout, nil
}

// noNamespaces remembers that this system refused the engine's namespaces, so that it is
// logged once and not tried at every restart.
var noNamespaces namespaceFallback

type namespaceFallback struct {
	mu     sync.Mutex
	failed bool
}

func (n *namespaceFallback) unavailable() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.failed
}

func (n *namespaceFallback) note(log io.Writer, err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.failed {
		fmt.Fprintf(log, "engine: this system gives it no namespaces of its own (%v): it runs confined by Landlock and seccomp only\n", err)
	}
	n.failed = true
}

// logMissingLayers writes one line for each confinement layer the engine lacks that seen has
// not had yet (every restart would say the same).
func logMissingLayers(log io.Writer, layers []string, seen *sync.Map) {
	for _, l := range layers {
		if strings.HasPrefix(l, "no ") {
			if _, had := seen.LoadOrStore(l, true); !had {
				fmt.Fprintf(log, "engine: sandbox: %s\n", quote.Text(l))
			}
		}
	}
}

// sweepEngineDirs removes the private folders that engines of earlier Cutout versions made
// (cutout-engine-* in the temporary folder) and left behind when they were killed. Only
// folders of this user's are touched.
func sweepEngineDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "cutout-engine-*"))
	for _, d := range dirs {
		if fi, err := os.Lstat(d); err == nil && fi.IsDir() && ownedByMe(fi) {
			os.RemoveAll(d)
		}
	}
}
