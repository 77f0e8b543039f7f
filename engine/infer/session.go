package infer

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	ort "github.com/yalue/onnxruntime_go"

	"cutout/engine/models"
	"cutout/engine/onnxgraph"
)

// The devices a session can run on.
const (
	DeviceAuto = "auto" // CUDA when the library and a GPU allow it, else the CPU
	DeviceCPU  = "cpu"
	DeviceCUDA = "cuda" // CUDA or fail
)

// ParseDevice checks a --device value ("" means auto).
func ParseDevice(s string) (string, error) {
	switch s {
	case "", DeviceAuto:
		return DeviceAuto, nil
	case DeviceCPU, DeviceCUDA:
		return s, nil
	}
	return "", fmt.Errorf("unknown device %q (want auto, cpu or cuda)", s)
}

// SessionOptions tune an ONNX Runtime session.
type SessionOptions struct {
	// Threads is the intra-op thread count; 0 means one per core.
	Threads int
	// Device is DeviceAuto (or ""), DeviceCPU or DeviceCUDA.
	Device string
	// Log receives the one line that says why auto fell back to the CPU (nil: dropped).
	Log func(string)
	// Tune, when set, adjusts the ONNX Runtime options last (benchmarks sweep settings with it).
	Tune func(*ort.SessionOptions) error

	keepHalf  bool // tests: load a float16 model as it is, not widened to float32
	keepAll   bool // tests: keep the outputs the session does not read (see onnxgraph.PrunePlan)
	keepQuant bool // tests: load a quantised model as it is (see onnxgraph.Dequantize)
}

// Session is one loaded model, created once and reused for every image. Run is safe for
// concurrent use: calls are serialised, so callers can decode and pre-process the next image
// while the current one is in the model.
type Session struct {
	Model *models.Model

	mu      sync.RWMutex // Run holds it exclusively, RunConcurrent shared, Close exclusively
	sess    *ort.DynamicAdvancedSession
	input   string
	output  string
	side    int
	threads int
	device  string

	warmMu  sync.Mutex      // guards warming
	warming *ort.RunOptions // the options of a Warm run in progress, to stop it
}

// appendCUDA adds ONNX Runtime's CUDA execution provider (GPU 0) to so; it fails when the
// loaded library has no CUDA support or no GPU is usable.
func appendCUDA(so *ort.SessionOptions) error {
	cuda, err := ort.NewCUDAProviderOptions()
	if err != nil {
		return err
	}
	defer cuda.Destroy()
	if err := cuda.Update(map[string]string{"device_id": "0"}); err != nil {
		return err
	}
	return so.AppendExecutionProviderCUDA(cuda)
}

func oneLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// Device is where the session runs: DeviceCPU or DeviceCUDA.
func (s *Session) Device() string { return s.device }

// NewSession creates a session from verified model bytes (see models.Verify).
func NewSession(m *models.Model, data []byte, opt SessionOptions) (*Session, error) {
	if !ort.IsInitialized() {
		return nil, ErrNotInitialized
	}
	in, out, err := onnxgraph.IO(data)
	if err != nil {
		return nil, fmt.Errorf("model %s: reading its inputs and outputs: %w", m.Name, err)
	}
	if len(in) == 0 || len(out) == 0 {
		return nil, fmt.Errorf("model %s has no inputs or outputs", m.Name)
	}
	inName, outName := m.Input, m.Output
	if inName == "" {
		inName = in[0]
	}
	if outName == "" {
		outName = out[0]
	}
	if !slices.Contains(in, inName) || !slices.Contains(out, outName) {
		return nil, fmt.Errorf("model %s: the file has no input %q or output %q (it has %v → %v)",
			m.Name, inName, outName, in, out)
	}
	threads := opt.Threads
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, err
	}
	defer so.Destroy()
	if err := so.SetIntraOpNumThreads(threads); err != nil {
		return nil, err
	}
	if err := so.SetInterOpNumThreads(1); err != nil {
		return nil, err
	}
	var level ort.GraphOptimizationLevel = ort.GraphOptimizationLevelEnableAll
	if m.Graph == "extended" {
		// No NCHWc layout. Measured on the fp16 ISNet widened to float32: "all" runs it
		// 1.4–1.5× faster; it cost 1.33× the engine's memory until the loading was made to
		// give back what it frees (see releaseFreedHeap), and now costs 1.00–1.03×.
		level = ort.GraphOptimizationLevelEnableExtended
	}
	if err := so.SetGraphOptimizationLevel(level); err != nil {
		return nil, err
	}
	// Memory patterns pre-plan one big block per run: measured with make bench-peer, turning
	// them off took the process tree's peak from 2.1 to 1.1 GB (samples) and from 2.4 to
	// 1.5 GB (12 MP) at the same speed. The arena stays: without it runs were slower.
	if err := so.SetMemPattern(false); err != nil {
		return nil, err
	}
	if opt.Tune != nil {
		if err := opt.Tune(so); err != nil {
			return nil, fmt.Errorf("model %s: session options: %w", m.Name, err)
		}
	}
	device, err := ParseDevice(opt.Device)
	if err != nil {
		return nil, err
	}
	used := DeviceCPU
	if device != DeviceCPU {
		if err := appendCUDA(so); err != nil {
			if device == DeviceCUDA {
				return nil, fmt.Errorf("model %s: CUDA was asked for but is not available: %w", m.Name, err)
			}
			if opt.Log != nil {
				opt.Log(fmt.Sprintf("CUDA is not available (%v); running on the CPU", oneLine(err)))
			}
		} else {
			used = DeviceCUDA
		}
	}
	// The CPU computes float16 models in float32 between casts: give it the float32 model
	// (see onnxgraph.Widen). On the CPU the light dynamically quantised convolutions are
	// faster in float32 (see onnxgraph.Dequantize); ONNX Runtime has no ConvInteger for CUDA,
	// so there all of them are. Then only the output read is kept (see onnxgraph.PrunePlan:
	// the ISNets' eleven others cost 0.16–0.2 GB of the engine's peak), in place when the
	// model is already a rewritten copy.
	// A model these cannot handle, or whose rewritten form ONNX Runtime refuses, is loaded as
	// it is.
	model, rewritten := data, false
	if used == DeviceCPU && !opt.keepHalf {
		if wide, changed, err := onnxgraph.Widen(model); err == nil && changed {
			model, rewritten = wide, true
		}
	}
	if !opt.keepQuant {
		limit := onnxgraph.LightConv
		if used == DeviceCUDA {
			limit = math.MaxInt
		}
		if dq, n, err := onnxgraph.Dequantize(model, limit); err == nil && n > 0 {
			model, rewritten = dq, true
		}
	}
	if !opt.keepAll {
		if p, err := onnxgraph.PlanPrune(model, outName); err == nil && p != nil {
			if !rewritten {
				model = bytes.Clone(model) // data is the caller's, and the fallback below
			}
			model, rewritten = p.Apply(model), true
		}
	}
	// What the rewriting left behind goes back to the system before ONNX Runtime's own
	// copies of the model are made: loading must not peak above running.
	debug.FreeOSMemory()
	var sess *ort.DynamicAdvancedSession
	if rewritten {
		sess, _ = ort.NewDynamicAdvancedSessionWithONNXData(model, []string{inName}, []string{outName}, so)
	}
	if sess == nil {
		sess, err = ort.NewDynamicAdvancedSessionWithONNXData(data, []string{inName}, []string{outName}, so)
	}
	if err != nil {
		return nil, fmt.Errorf("model %s: creating the ONNX Runtime session: %w", m.Name, err)
	}
	releaseFreedHeap()
	return &Session{Model: m, sess: sess, input: inName, output: outName, side: m.InputSize, threads: threads, device: used}, nil
}

// Side is the model's square input size in pixels.
func (s *Session) Side() int { return s.side }

// Threads is the session's intra-op thread count.
func (s *Session) Threads() int { return s.threads }

// Run feeds one NCHW [1,3,S,S] input and writes the [1,1,S,S] prediction into out.
func (s *Session) Run(in, out []float32) error {
	_, err := s.RunTimed(in, out)
	return err
}

// RunTimed is Run that also reports how long the model itself ran (not counting the wait for
// a concurrent call to finish).
func (s *Session) RunTimed(in, out []float32) (time.Duration, error) {
	return s.run(in, out, false)
}

// RunConcurrent is Run without the serialisation: ONNX Runtime allows concurrent runs of one
// session, each with its own activations (so more memory). Benchmarks compare it to Run.
func (s *Session) RunConcurrent(in, out []float32) error {
	_, err := s.run(in, out, true)
	return err
}

// ErrWarmStopped is what Warm returns when a real run came first.
var ErrWarmStopped = errors.New("warm-up stopped for a real run")

// Warm runs the model once on a blank input, so that ONNX Runtime makes the allocations of a
// session's first run (measured: the first run of the quantised ISNet takes 0.25–0.3 s longer
// than the next ones, most of it the kernel handing over fresh pages) before an image waits
// for them. A Run that comes meanwhile stops it at once (ErrWarmStopped): a warm-up never
// delays a real image by more than one operator.
func (s *Session) Warm() error {
	ro, err := ort.NewRunOptions()
	if err != nil {
		return err
	}
	defer ro.Destroy()
	n := s.side * s.side
	inT, outT, err := s.tensors(make([]float32, 3*n), make([]float32, n))
	if err != nil {
		return err
	}
	defer inT.Destroy()
	defer outT.Destroy()
	s.warmMu.Lock()
	s.warming = ro
	s.warmMu.Unlock()
	stopped := func() bool { // by stopWarm
		s.warmMu.Lock()
		defer s.warmMu.Unlock()
		return s.warming != ro
	}
	defer func() {
		s.warmMu.Lock()
		if s.warming == ro {
			s.warming = nil
		}
		s.warmMu.Unlock()
	}()
	s.mu.Lock()
	defer s.mu.Unlock()
	if stopped() {
		return ErrWarmStopped
	}
	if s.sess == nil {
		return fmt.Errorf("model %s: the session is closed", s.Model.Name)
	}
	err = s.sess.RunWithOptions([]ort.Value{inT}, []ort.Value{outT}, ro)
	if err != nil && stopped() {
		return ErrWarmStopped
	}
	return err
}

// stopWarm stops a Warm run in progress (or about to start).
func (s *Session) stopWarm() {
	s.warmMu.Lock()
	defer s.warmMu.Unlock()
	if s.warming != nil {
		_ = s.warming.Terminate()
		s.warming = nil
	}
}

// tensors wraps an NCHW [1,3,S,S] input and a [1,1,S,S] output buffer for ONNX Runtime.
func (s *Session) tensors(in, out []float32) (inT, outT *ort.Tensor[float32], err error) {
	side := int64(s.side)
	if inT, err = ort.NewTensor(ort.NewShape(1, 3, side, side), in); err != nil {
		return nil, nil, err
	}
	if outT, err = ort.NewTensor(ort.NewShape(1, 1, side, side), out); err != nil {
		inT.Destroy()
		return nil, nil, err
	}
	return inT, outT, nil
}

func (s *Session) run(in, out []float32, shared bool) (time.Duration, error) {
	n := s.side * s.side
	if len(in) != 3*n || len(out) != n {
		return 0, fmt.Errorf("model %s: input %d / output %d floats, want %d / %d", s.Model.Name, len(in), len(out), 3*n, n)
	}
	inT, outT, err := s.tensors(in, out)
	if err != nil {
		return 0, err
	}
	defer inT.Destroy()
	defer outT.Destroy()
	s.stopWarm()
	if shared {
		s.mu.RLock()
		defer s.mu.RUnlock()
	} else {
		s.mu.Lock()
		defer s.mu.Unlock()
	}
	if s.sess == nil {
		return 0, fmt.Errorf("model %s: the session is closed", s.Model.Name)
	}
	t := time.Now()
	if err := s.sess.Run([]ort.Value{inT}, []ort.Value{outT}); err != nil {
		return 0, fmt.Errorf("model %s: inference failed: %w", s.Model.Name, err)
	}
	return time.Since(t), nil
}

// Close releases the session.
func (s *Session) Close() error {
	s.stopWarm()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sess == nil {
		return nil
	}
	err := s.sess.Destroy()
	s.sess = nil
	return err
}
