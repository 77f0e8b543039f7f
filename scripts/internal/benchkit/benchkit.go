// Package benchkit holds what the benchmark commands share: timing the bare model in a
// process of its own, and the resident memory of a process tree from /proc.
package benchkit

import (
	"os"
	"strconv"
	"strings"
	"time"

	ort "github.com/yalue/onnxruntime_go"

	"cutout/app"
	"cutout/engine/infer"
)

// Bare is what BareRun measured: the mean of the timed runs, the session's creation and the
// first (warm-up) run, which pays for ONNX Runtime's allocations.
type Bare struct {
	Run, Create, First time.Duration
}

// BareRun times session.Run alone, averaged over runs after one warm-up run, with
// concurrent runs in flight on the one session (1: serialised, as Cutout runs). threads and
// tune are passed to the session (0 and nil: Cutout's own settings).
func BareRun(model string, runs, concurrent, threads int, tune func(*ort.SessionOptions) error) (Bare, error) {
	var b Bare
	if err := infer.Init(""); err != nil {
		return b, err
	}
	m, data, err := app.EngineConfig{Model: model}.LoadModel()
	if err != nil {
		return b, err
	}
	t0 := time.Now()
	s, err := infer.NewSession(m, data, infer.SessionOptions{Threads: threads, Tune: tune})
	if err != nil {
		return b, err
	}
	b.Create = time.Since(t0)
	data = nil
	defer s.Close()
	n := s.Side() * s.Side()
	conc := max(1, concurrent)
	ins, outs := make([][]float32, conc), make([][]float32, conc)
	for k := range ins {
		ins[k], outs[k] = make([]float32, 3*n), make([]float32, n)
		for i := range ins[k] {
			ins[k][i] = float32(i%255)/255 - 0.5
		}
	}
	t1 := time.Now()
	if err := s.Run(ins[0], outs[0]); err != nil { // warm-up
		return b, err
	}
	b.First = time.Since(t1)
	start := time.Now()
	errs := make(chan error, conc)
	for k := 0; k < conc; k++ {
		go func() {
			for i := k; i < runs; i += conc {
				if err := s.RunConcurrent(ins[k], outs[k]); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for k := 0; k < conc; k++ {
		if err := <-errs; err != nil {
			return b, err
		}
	}
	b.Run = time.Since(start) / time.Duration(runs)
	return b, nil
}

// Proc is one process of a tree: its command name and resident memory in bytes.
type Proc struct {
	PID  int
	Name string
	RSS  int64
}

// Tree lists root and all its descendants with their current resident memory. It walks
// /proc/PID/task/TID/children from root, so the sampling costs little next to what it measures.
func Tree(root int) []Proc {
	var out []Proc
	stack := []int{root}
	for len(stack) > 0 {
		pid := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		dir := "/proc/" + strconv.Itoa(pid)
		data, err := os.ReadFile(dir + "/status")
		if err != nil {
			continue
		}
		p := Proc{PID: pid}
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "Name:"); ok {
				p.Name = strings.TrimSpace(v)
			}
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				p.RSS = kb << 10
			}
		}
		out = append(out, p)
		tasks, _ := os.ReadDir(dir + "/task")
		for _, t := range tasks {
			kids, err := os.ReadFile(dir + "/task/" + t.Name() + "/children")
			if err != nil {
				continue
			}
			for _, f := range strings.Fields(string(kids)) {
				if c, err := strconv.Atoi(f); err == nil {
					stack = append(stack, c)
				}
			}
		}
	}
	return out
}
