package app

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
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
	lastErr time.Time
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

func (s *Supervisor) job(name string, data []byte) *proto.Job {
	lim := s.cfg.Limits
	d := validate.DefaultLimits()
	if lim.MaxBytes == 0 {
		lim.MaxBytes = d.MaxBytes
	}
	if lim.MaxWidth == 0 {
		lim.MaxWidth = d.MaxWidth
	}
	if lim.MaxHeight == 0 {
		lim.MaxHeight = d.MaxHeight
	}
	if lim.MaxPixels == 0 {
		lim.MaxPixels = d.MaxPixels
	}
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

// EnginePeakRSS is the running engine process's peak resident set in bytes (0 if none).
func (s *Supervisor) EnginePeakRSS() int64 {
	return PeakRSS(s.pid())
}

// PeakRSS reads a process's peak resident set (VmHWM) in bytes; pid 0 means this process.
func PeakRSS(pid int) int64 {
	path := "/proc/self/status"
	if pid != 0 {
		path = "/proc/" + strconv.Itoa(pid) + "/status"
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// lastStderr is what the last engine wrote to stderr, for tests.
func (s *Supervisor) lastStderr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last == nil {
		return ""
	}
	return s.last.stderr.String()
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

// deathError is how a job learns that the engine died while it was in flight.
type deathError struct {
	reason string
	kind   error
	// timedOut: this job's own time ran out (the engine was stopped for it).
	timedOut bool
	// external: the engine was killed from outside (SIGKILL not sent by the supervisor).
	external bool
}

func (d *deathError) Error() string { return d.reason }
func (d *deathError) Unwrap() error { return d.kind }

// worker is one engine process.
type worker struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	hello  *proto.Hello
	memory uint64
	stderr *tail

	wmu sync.Mutex // serialises frame writes

	pmu     sync.Mutex
	pending map[uint64]chan reply

	timedOut atomic.Bool
	done     chan struct{} // closed once the process is gone
	death    *deathError
}

type reply struct {
	result *proto.Result
	err    *proto.Error
}

func startWorker(ctx context.Context, c SupervisorConfig) (*worker, error) {
	w := &worker{memory: c.MemoryLimit, stderr: newTail(16 << 10),
		pending: map[uint64]chan reply{}, done: make(chan struct{})}
	cmd, stdout, err := w.spawn(c)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEngineStart, err)
	}
	w.cmd = cmd
	in := bufio.NewReaderSize(stdout, 1<<20)

	// The first frame is the hello, sent once the model is loaded and the engine confined.
	helloCh := make(chan error, 1)
	go func() {
		f, err := proto.Read(in)
		switch {
		case err != nil:
			helloCh <- err
		case f.Hello == nil:
			helloCh <- fmt.Errorf("%w: first frame is not a hello", proto.ErrMalformed)
		case f.Hello.Version != proto.Version:
			helloCh <- fmt.Errorf("engine speaks protocol %d, the app %d", f.Hello.Version, proto.Version)
		default:
			w.hello = f.Hello
			helloCh <- nil
		}
	}()
	timer := time.NewTimer(c.StartTimeout)
	defer timer.Stop()
	select {
	case err = <-helloCh:
	case <-timer.C:
		err = fmt.Errorf("the model did not load within %s", c.StartTimeout)
	case <-ctx.Done():
		err = context.Cause(ctx)
	}
	if err != nil {
		w.kill()
		cmd.Wait()
		if msg := lastLine(w.stderr.String()); msg != "" {
			return nil, fmt.Errorf("%w: %q", ErrEngineStart, strings.TrimPrefix(msg, "cutout engine: "))
		}
		return nil, fmt.Errorf("%w: %v", ErrEngineStart, err)
	}
	go w.readLoop(in)
	return w, nil
}

// readLoop delivers replies until the engine's output ends, then records why it died and
// fails every job still waiting.
func (w *worker) readLoop(in io.Reader) {
	var protoErr error
	for {
		f, err := proto.Read(in)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				protoErr = err
			}
			break
		}
		var id uint64
		var r reply
		switch {
		case f.Result != nil:
			id, r.result = f.Result.ID, f.Result
		case f.Error != nil:
			id, r.err = f.Error.ID, f.Error
		default:
			protoErr = fmt.Errorf("%w: unexpected frame", proto.ErrMalformed)
		}
		if protoErr != nil {
			break
		}
		w.pmu.Lock()
		ch, ok := w.pending[id]
		delete(w.pending, id)
		w.pmu.Unlock()
		if ok {
			ch <- r
		}
	}
	if protoErr != nil {
		// A broken protocol means the engine cannot be trusted any more.
		w.cmd.Process.Kill()
	}
	w.stdin.Close()
	waitErr := w.cmd.Wait()
	w.death = w.explain(waitErr, protoErr)
	close(w.done)
}

// explain turns how the process ended into a sentence for the user.
func (w *worker) explain(waitErr, protoErr error) *deathError {
	log := w.stderr.String()
	switch {
	case w.timedOut.Load():
		// Another job's time ran out (the one that did is told so by do).
		return &deathError{reason: "the engine was stopped because another image took too long", kind: ErrEngineTimeout}
	case protoErr != nil:
		return &deathError{reason: "the engine sent a malformed reply and was stopped (" + protoErr.Error() + ")", kind: ErrEngineCrash}
	case strings.Contains(log, "out of memory") || strings.Contains(log, "bad_alloc") ||
		strings.Contains(log, "cannot allocate memory") || strings.Contains(log, "failed to allocate"):
		return &deathError{reason: fmt.Sprintf("the engine ran out of memory on this image (limit %d MiB)", w.memory>>20), kind: ErrEngineOOM}
	}
	var ee *exec.ExitError
	if errors.As(waitErr, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			if ws.Signal() == syscall.SIGKILL {
				return &deathError{reason: "the engine was killed from outside (SIGKILL: by the system's out-of-memory killer, or by hand) while working on this image", kind: ErrEngineKilled, external: true}
			}
			return &deathError{reason: fmt.Sprintf("the engine crashed (%v) while working on this image", ws.Signal()), kind: ErrEngineCrash}
		}
		if strings.Contains(log, "SIGSEGV") || strings.Contains(log, "panic:") {
			return &deathError{reason: "the engine crashed (" + lastLine(firstPanic(log)) + ") while working on this image", kind: ErrEngineCrash}
		}
		return &deathError{reason: fmt.Sprintf("the engine stopped unexpectedly (%v) while working on this image", ee), kind: ErrEngineCrash}
	}
	return &deathError{reason: "the engine stopped unexpectedly while working on this image", kind: ErrEngineCrash}
}

func (w *worker) dead() bool {
	select {
	case <-w.done:
		return true
	default:
		return false
	}
}

// do sends one job and waits for its reply, the engine's death, the timeout or ctx.
func (w *worker) do(ctx context.Context, j *proto.Job, timeout time.Duration) (*infer.Result, error) {
	ch := make(chan reply, 1)
	w.pmu.Lock()
	w.pending[j.ID] = ch
	w.pmu.Unlock()
	forget := func() {
		w.pmu.Lock()
		delete(w.pending, j.ID)
		w.pmu.Unlock()
	}
	w.wmu.Lock()
	err := proto.Write(w.stdin, j)
	w.wmu.Unlock()
	if err != nil {
		forget()
		<-w.done // the write failed because the engine is gone
		return nil, w.death
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case r := <-ch:
		return toResult(r, j)
	case <-w.done:
		forget()
		return nil, w.death
	case <-timer.C:
		forget()
		w.timedOut.Store(true)
		w.kill()
		<-w.done
		return nil, &deathError{reason: fmt.Sprintf("the engine took longer than %s on this image and was stopped", timeout),
			kind: ErrEngineTimeout, timedOut: true}
	case <-ctx.Done():
		// The engine finishes the job on its own; its reply is dropped.
		forget()
		return nil, context.Cause(ctx)
	}
}

func toResult(r reply, j *proto.Job) (*infer.Result, error) {
	if r.err != nil {
		return nil, &remoteError{msg: r.err.Message, invalid: r.err.Kind == proto.KindInvalid}
	}
	res := r.result
	w, h := int(res.Width), int(res.Height)
	if int64(w)*int64(h) > j.MaxPixels || w > int(j.MaxWidth) || h > int(j.MaxHeight) {
		return nil, fmt.Errorf("the engine returned a %d × %d image, over the limits", w, h)
	}
	rect := image.Rect(0, 0, w, h)
	out := &infer.Result{
		Pred: &infer.Prediction{Side: int(res.Side), Values: res.Pred},
		Timings: infer.Timings{Decode: res.Decode, Preprocess: res.Preprocess,
			Inference: res.Inference},
	}
	if res.Format == proto.FormatNRGBA {
		out.Image = &image.NRGBA{Pix: res.Pix, Stride: 4 * w, Rect: rect}
		return out, nil
	}
	// A JPEG comes back in its Y′CbCr planes (the protocol checked their sizes) and stays so:
	// the batch composites straight from them, the window converts (Result.NRGBA).
	out.YCbCr = infer.UnpackYCbCr(res.Pix, w, h, image.YCbCrSubsampleRatio(res.Format-proto.FormatYCbCr))
	return out, nil
}

// kill ends the process group (the engine and anything it started).
func (w *worker) kill() {
	_ = syscall.Kill(-w.cmd.Process.Pid, syscall.SIGKILL)
	_ = w.cmd.Process.Kill()
}

// stop closes the engine's input so it exits on its own, killing it if it lingers.
func (w *worker) stop() {
	w.wmu.Lock()
	w.stdin.Close()
	w.wmu.Unlock()
	select {
	case <-w.done:
	case <-time.After(5 * time.Second):
		w.kill()
		<-w.done
	}
}

// tail keeps the first and the last bytes written to it (the engine's stderr): a fatal
// error's first line ("fatal error: runtime: out of memory") survives the long goroutine dump
// that follows it.
type tail struct {
	mu   sync.Mutex
	max  int
	head []byte
	buf  []byte
}

func newTail(max int) *tail { return &tail{max: max} }

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if room := 4096 - len(t.head); room > 0 {
		t.head = append(t.head, p[:min(room, len(p))]...)
	}
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

// String is the first bytes and, after a gap marker when they differ, the last ones.
func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.head) == len(t.buf) {
		return string(t.buf)
	}
	return string(t.head) + "\n…\n" + string(t.buf)
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// firstPanic returns the log up to its first panic or fatal-signal line.
func firstPanic(log string) string {
	for _, key := range []string{"panic:", "SIGSEGV"} {
		if i := strings.Index(log, key); i >= 0 {
			rest := log[i:]
			if j := strings.IndexByte(rest, '\n'); j >= 0 {
				rest = rest[:j]
			}
			return rest
		}
	}
	return log
}
