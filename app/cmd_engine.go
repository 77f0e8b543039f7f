package app

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"cutout/engine/infer"
	"cutout/engine/proto"
	"cutout/engine/sandbox"
)

// cmdEngine is `cutout engine`, the sandboxed worker the app starts and supervises. It is
// never run by hand: it speaks the engine protocol on stdin/stdout and logs to stderr.
func cmdEngine(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("engine", flag.ContinueOnError)
	fs.SetOutput(stderr)
	model := fs.String("model", "", "model name")
	modelsDir := fs.String("models", "", "models folder")
	lib := fs.String("lib", "", "ONNX Runtime library")
	threads := fs.Int("threads", 0, "intra-op threads")
	device := fs.String("device", "auto", "auto, cpu or cuda")
	memory := fs.Uint64("memory", 0, "address-space limit in bytes")
	unverified := fs.String("unverified-model", "", "a user's own model, loaded without a checksum")
	parentNS := fs.String("parent-ns", "", "the app's namespace inodes, to report which are the engine's own")
	warm := fs.Bool("warm", false, "run the model once on a blank input while waiting for the first job")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	// Confine in two steps: what needs no file before anything is read; the rest once the
	// model is loaded and the session exists, before the first image.
	box, err := sandbox.Prepare(*memory, sandbox.ParseNamespaces(*parentNS))
	if err != nil {
		fmt.Fprintln(stderr, "cutout engine:", err)
		return 1
	}
	// Loading ONNX Runtime and reading and verifying the model are independent: on two
	// cores, doing them at once takes the shorter one off the engine's start.
	inited := make(chan error, 1)
	go func() { inited <- infer.Init(*lib) }()
	cfg := EngineConfig{ModelsDir: *modelsDir, Model: *model, UnverifiedModel: *unverified, Threads: *threads}
	m, data, err := cfg.LoadModel()
	if ierr := <-inited; ierr != nil {
		err = ierr
	}
	if err != nil {
		fmt.Fprintln(stderr, "cutout engine:", err)
		return 1
	}
	fallback := ""
	e, err := infer.NewEngine(m, data, infer.SessionOptions{Threads: *threads, Device: *device,
		Log: func(line string) { fallback = line }})
	if err != nil {
		fmt.Fprintln(stderr, "cutout engine:", err)
		return 1
	}
	defer e.Close()
	// ONNX Runtime holds its own copy of the model now: hand the verified bytes (and the
	// reading buffers) back to the system at once rather than at the scavenger's pace.
	// Measured: −108 MB resident for the quantised model, −181 MB for the fp16 one.
	data = nil
	debug.FreeOSMemory()
	gpu := e.Session.Device() == infer.DeviceCUDA
	if gpu {
		// The GPU driver opens its devices on the first run: let it, before nothing can be
		// opened any more.
		if err := e.Session.Warm(); err != nil {
			fmt.Fprintln(stderr, "cutout engine: the first run on the GPU:", err)
			return 1
		}
	}
	if err := box.Lockdown(gpu); err != nil {
		fmt.Fprintln(stderr, "cutout engine: confining the engine:", err)
		return 1
	}
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	err = infer.Serve(in, os.Stdout, e, infer.WorkerOptions{BeforeJob: engineTestHook, Warm: *warm,
		Device: strings.TrimSpace(e.Session.Device() + " " + paren(fallback)), Sandbox: box.Lines()})
	if err != nil {
		fmt.Fprintln(stderr, "cutout engine:", err)
		return 1
	}
	return 0
}

// engineTestHook is nil in Cutout: only the app's tests set it (see enginehooks_test.go),
// to make the engine misbehave on cue.
var engineTestHook func(*proto.Job) string

func paren(s string) string {
	if s == "" {
		return ""
	}
	return "(" + s + ")"
}
