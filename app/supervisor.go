package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"cutout/engine/infer"
	"cutout/engine/proto"
	"cutout/engine/validate"
)

// Engine failures the supervisor reports; each wraps into a sentence naming the file.
var (
	ErrEngineTimeout = errors.New("the engine took too long")
	ErrEngineOOM     = errors.New("the engine ran out of memory")
	ErrEngineCrash   = errors.New("the engine crashed")
	ErrEngineStart   = errors.New("the engine could not start")
	// ErrEngineKilled: the engine was killed from outside (SIGKILL: the system's
	// out-of-memory killer, or by hand) each time this image ran, alone. Not the file's fault.
	ErrEngineKilled = errors.New("the engine was killed from outside")
)

// SupervisorConfig configures the sandboxed engine process.
type SupervisorConfig struct {
	EngineConfig
	// MemoryLimit caps the engine's address space in bytes (default 6 GiB).
	MemoryLimit uint64
	// JobTimeout bounds one image (default 120 s); the engine is killed and restarted past it.
	JobTimeout time.Duration
	// StartTimeout bounds loading the model (default 120 s).
	StartTimeout time.Duration
	// Limits are re-checked by the engine before it decodes.
	Limits validate.Limits
	// Log receives one line per engine start, failure and restart (default: discarded).
	Log io.Writer
	// Notice receives, once per process, a line for each sandbox layer this machine cannot
	// give the engine (default: Log).
	Notice io.Writer
	// Binary is the cutout executable to run as `cutout engine` (default: this executable).
	Binary string
	// Warm has the engine run the model once, on a blank input, as soon as it has loaded it,
	// so that the first image does not pay for the session's first run (+0.25–0.3 s). For
	// engines started ahead of their work (the window, hot folders); an image that comes
	// during the warm-up stops it.
	Warm bool

	// command is the program and leading arguments to run (default: this executable,
	// "engine"); tests run the test binary instead.
	command []string
	// noNamespace starts the engine without namespaces, as on systems that have none (tests).
	noNamespace bool
	// stderr, when set, receives the engine's stderr instead of the supervisor's buffer
	// (tests hand the engine a terminal this way).
	stderr *os.File
}

// DefaultMemoryLimit is the engine's default address-space cap.
const DefaultMemoryLimit = 6 << 30

// Supervisor runs the model in a child process (`cutout engine`) with limits on memory and
// time and no network, and restarts it, with backoff, when it dies. A crash, an OOM kill or
// a timeout fails the image being processed with a reason; the app goes on.
type Supervisor struct {
	cfg     SupervisorConfig
	slots   chan struct{} // a place in the engine for each job in flight
	solo    chan struct{} // held by the one job that runs alone (see cut)
	ids     atomic.Uint64
	noticed sync.Map // sandbox layers already said to be missing

	mu      sync.Mutex
	w       *worker
	last    *worker // the previous engine, for its stderr
	backoff time.Duration
	closed  bool
}

// inFlight is how many jobs the engine holds at once: one decoding while one is in the model.
const inFlight = 2

// NewSupervisor prepares the engine process; it starts on the first Cut (or Start).
func NewSupervisor(c SupervisorConfig) (*Supervisor, error) {
	if c.MemoryLimit == 0 {
		c.MemoryLimit = DefaultMemoryLimit
	}
	if c.JobTimeout <= 0 {
		c.JobTimeout = 120 * time.Second
	}
	if c.StartTimeout <= 0 {
		c.StartTimeout = 120 * time.Second
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	if c.Notice == nil {
		c.Notice = c.Log
	}
	if c.ModelsDir == "" {
		d, err := FindModelsDir()
		if err != nil {
			return nil, err
		}
		c.ModelsDir = d
	}
	if c.command == nil {
		exe, err := filepath.Abs(c.Binary) // the engine runs in a folder of its own
		if err != nil {
			return nil, err
		}
		if c.Binary == "" {
			var err error
			if exe, err = os.Executable(); err != nil {
				return nil, err
			}
		}
		c.command = []string{exe, "engine"}
	}
	sweepEngineDirs()
	return &Supervisor{cfg: c, slots: make(chan struct{}, inFlight), solo: make(chan struct{}, 1)}, nil
}

// Start starts the engine now and waits for its model to load.
func (s *Supervisor) Start(ctx context.Context) error {
	_, err := s.worker(ctx)
	return err
}

// Cut sends one image to the engine and waits for its mask. A job fails only for its own
// reason: see cut.
func (s *Supervisor) Cut(ctx context.Context, name string, data []byte) (*infer.Result, error) {
	r, err := s.cut(ctx, name, data, 0)
	if err != nil {
		return nil, err
	}
	r.MakeMask()
	return r, nil
}

// Predict is Cut without the mask: the result holds the image and the model's prediction,
// for a caller that makes the mask at another size (the window's preview) or later.
func (s *Supervisor) Predict(ctx context.Context, name string, data []byte) (*infer.Result, error) {
	return s.cut(ctx, name, data, 0)
}

// remoteError is a job failure the engine reported (it lives on).
type remoteError struct {
	msg     string
	invalid bool
}

func (e *remoteError) Error() string { return e.msg }

// job is the protocol's job for one image, with the limits the app checked.
func (s *Supervisor) job(name string, data []byte) *proto.Job {
	lim := s.cfg.Limits.Resolved()
	return &proto.Job{ID: s.ids.Add(1), Name: name, MaxBytes: lim.MaxBytes, MaxWidth: uint32(lim.MaxWidth),
		MaxHeight: uint32(lim.MaxHeight), MaxPixels: lim.MaxPixels, Data: data}
}

// worker returns the running engine, starting one (after the backoff) if there is none.
func (s *Supervisor) worker(ctx context.Context) (*worker, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("the engine has been shut down")
	}
	if s.w != nil && !s.w.dead() {
		return s.w, nil
	}
	if s.w != nil {
		// The last engine died: wait before starting another, longer each time in a row.
		wait := s.backoff
		s.backoff = min(max(2*s.backoff, 250*time.Millisecond), 10*time.Second)
		s.last, s.w = s.w, nil
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return nil, context.Cause(ctx)
			}
		}
	}
	w, err := startWorker(ctx, s.cfg)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(s.cfg.Log, "engine: started (pid %d, model %q, ONNX Runtime %q, device %q)\n",
		w.cmd.Process.Pid, w.hello.Model, w.hello.Runtime, w.hello.Device)
	logMissingLayers(s.cfg.Notice, w.hello.Sandbox, &s.noticed)
	s.w = w
	return w, nil
}

// Close stops the engine.
func (s *Supervisor) Close() error {
	s.mu.Lock()
	w := s.w
	s.closed, s.w = true, nil
	s.mu.Unlock()
	if w != nil {
		w.stop()
	}
	return nil
}

// Model is the running engine's model name ("" before it starts).
func (s *Supervisor) Model() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w == nil {
		return ""
	}
	return s.w.hello.Model
}

// Sandbox lists the running engine's confinement layers, one line each (nil before it
// starts): see proto.Hello.
func (s *Supervisor) Sandbox() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w == nil {
		return nil
	}
	return s.w.hello.Sandbox
}

// hello is the running engine's hello frame (an empty one before it starts).
func (s *Supervisor) hello() proto.Hello {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w == nil {
		return proto.Hello{}
	}
	return *s.w.hello
}

// pid is the running engine's process id, for tests.
func (s *Supervisor) pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w == nil {
		return 0
	}
	return s.w.cmd.Process.Pid
}
