package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"

	ort "github.com/yalue/onnxruntime_go"

	"cutout/app"
	"cutout/engine/infer"
)

// A tuning is one ONNX Runtime setting tried by `make bench ARGS=-sweep` against Cutout's own
// (the first entry).
type tuning struct {
	name       string
	threads    int // intra-op threads (0: one per core)
	concurrent int // runs in flight at once on the one session (0/1: serialised, as Cutout runs)
	apply      func(*ort.SessionOptions) error
	env        []string // added to the process's environment
}

func config(kv ...string) func(*ort.SessionOptions) error {
	return func(so *ort.SessionOptions) error {
		for i := 0; i+1 < len(kv); i += 2 {
			if err := so.AddSessionConfigEntry(kv[i], kv[i+1]); err != nil {
				return err
			}
		}
		return nil
	}
}

var tunings = []tuning{
	{name: "cutout"},
	{name: "threads=1", threads: 1},
	{name: "threads=1, 2 runs at once", threads: 1, concurrent: 2},
	{name: "threads=2, 2 runs at once", concurrent: 2},
	{name: "no spinning", apply: config("session.intra_op.allow_spinning", "0")},
	{name: "denormals as zero", apply: config("session.set_denormal_as_zero", "1")},
	{name: "no pre-packing", apply: config("session.disable_prepacking", "1")},
	{name: "initializers outside the arena", apply: config("session.use_device_allocator_for_initializers", "1")},
	{name: "graph: extended", apply: func(so *ort.SessionOptions) error {
		return so.SetGraphOptimizationLevel(ort.GraphOptimizationLevelEnableExtended)
	}},
	{name: "graph: basic", apply: func(so *ort.SessionOptions) error {
		return so.SetGraphOptimizationLevel(ort.GraphOptimizationLevelEnableBasic)
	}},
	{name: "memory patterns on", apply: func(so *ort.SessionOptions) error { return so.SetMemPattern(true) }},
	{name: "arena off", apply: func(so *ort.SessionOptions) error { return so.SetCpuMemArena(false) }},
	{name: "parallel executor, 2 inter-op", apply: func(so *ort.SessionOptions) error {
		if err := so.SetExecutionMode(ort.ExecutionModeParallel); err != nil {
			return err
		}
		return so.SetInterOpNumThreads(2)
	}},
	{name: "parallel executor, 1 inter-op", apply: func(so *ort.SessionOptions) error {
		return so.SetExecutionMode(ort.ExecutionModeParallel)
	}},
	{name: "graph: all but NCHWc", apply: func(so *ort.SessionOptions) error {
		if err := so.SetGraphOptimizationLevel(ort.GraphOptimizationLevelEnableAll); err != nil {
			return err
		}
		return so.AddSessionConfigEntry("optimization.disable_specified_optimizers", "NchwcTransformer")
	}},
	{name: "graph: all", apply: func(so *ort.SessionOptions) error {
		return so.SetGraphOptimizationLevel(ort.GraphOptimizationLevelEnableAll)
	}},
	{name: "parallel executor, 2 inter-op, no inter-op spinning", apply: func(so *ort.SessionOptions) error {
		if err := so.SetExecutionMode(ort.ExecutionModeParallel); err != nil {
			return err
		}
		if err := so.SetInterOpNumThreads(2); err != nil {
			return err
		}
		return config("session.inter_op.allow_spinning", "0", "session.intra_op.allow_spinning", "0")(so)
	}},
	{name: "parallel executor, 2 inter-op, 1 intra-op", threads: 1, apply: func(so *ort.SessionOptions) error {
		if err := so.SetExecutionMode(ort.ExecutionModeParallel); err != nil {
			return err
		}
		return so.SetInterOpNumThreads(2)
	}},
	// glibc ≥ 2.35 advises transparent huge pages for malloc's large mappings, where ONNX
	// Runtime keeps its weights and activations. Measured: no steady gain, and the first run
	// 2× slower (the kernel compacts memory to find huge pages).
	{name: "huge pages (glibc tunable)", env: []string{"GLIBC_TUNABLES=glibc.malloc.hugetlb=1"}},
	// Without the arena every tensor is a malloc; with a fixed mmap threshold glibc maps each
	// large one on its own and unmaps it when freed, so the peak is the live tensors' peak.
	// Measured (fp16): 0.83× memory for 1.07–1.5× time in four alternating pairs (every run
	// faults its activations in afresh); quantised: 0.80× memory, 1.5× time. Not kept.
	{name: "arena off, mmap threshold 128 KiB", apply: func(so *ort.SessionOptions) error { return so.SetCpuMemArena(false) },
		env: []string{"GLIBC_TUNABLES=glibc.malloc.mmap_threshold=131072"}},
	{name: "arena off, mmap threshold 1 MiB", apply: func(so *ort.SessionOptions) error { return so.SetCpuMemArena(false) },
		env: []string{"GLIBC_TUNABLES=glibc.malloc.mmap_threshold=1048576"}},
	// Huge pages for those mappings (glibc.malloc.hugetlb=1 as well) did not take the
	// page faults' cost away (1.13–1.20× time). Without mmap at all (glibc.malloc.mmap_max=0,
	// nothing trimmed) freed tensors stay for reuse, but glibc's heap fragments: 1.06× memory
	// with one malloc arena, 1.45× with the default.
	{name: "arena off, no mmap, one malloc arena", apply: func(so *ort.SessionOptions) error { return so.SetCpuMemArena(false) },
		env: []string{"GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=4294967296:glibc.malloc.arena_max=1"}},
	// The CPU arena grows by powers of two by default; a shared (environment) arena can be
	// told to grow by what is asked for instead. Measured: more memory, not less (fp16
	// 1.09×, quantised 1.30×: many chunks that cannot be merged).
	{name: "env arena, extends as requested", apply: envArena(1)},
	{name: "env arena, extends by powers of two", apply: envArena(0)},
	// One 1 GiB region (address space; pages resident as used) instead of 1, 2, 4 … MiB
	// regions whose free blocks cannot merge across. Measured on the fp16 ISNet before the
	// unread outputs were pruned: 0.94× memory at the same speed; after pruning, the engine's
	// peak was no lower than with the default arena (samples 764–778 vs 756–759 MB). Not kept.
	// Smaller "max_dead_bytes_per_chunk" (1 MiB, 8 MiB) and capping the doubling at 16 or
	// 64 MiB were measured too: 0.99–1.05× memory.
	{name: "env arena, first chunk 1 GiB", apply: envArenaV2(map[string]int{"initial_chunk_size_bytes": 1 << 30})},
}

// envArenaV2 is envArena with ONNX Runtime's named arena settings.
func envArenaV2(kv map[string]int) func(*ort.SessionOptions) error {
	return func(so *ort.SessionOptions) error {
		cfg, err := ort.NewArenaCfgV2(kv)
		if err != nil {
			return err
		}
		return registerArena(so, cfg)
	}
}

// envArena registers a CPU arena with the given extend strategy (0 powers of two, 1 as
// requested) with the environment and has the session use it.
func envArena(strategy int) func(*ort.SessionOptions) error {
	return func(so *ort.SessionOptions) error {
		cfg, err := ort.NewArenaCfg(0, strategy, -1, -1)
		if err != nil {
			return err
		}
		return registerArena(so, cfg)
	}
}

// registerArena registers cfg's CPU arena with the environment and has the session use it.
func registerArena(so *ort.SessionOptions, cfg *ort.ArenaCfg) error {
	defer cfg.Destroy()
	mi, err := ort.GetMemoryInfo()
	if err != nil {
		return err
	}
	if err := ort.CreateAndRegisterAllocator(mi, cfg); err != nil {
		return err
	}
	return so.AddSessionConfigEntry("session.use_env_allocators", "1")
}

func findTuning(name string) (tuning, error) {
	if name == "" {
		return tuning{}, nil
	}
	for _, t := range tunings {
		if t.name == name {
			return t, nil
		}
	}
	return tuning{}, fmt.Errorf("no tuning named %q", name)
}

// sweep times the bare model under every tuning, each in a fresh process (so that its peak
// RSS is its own), and prints time and memory as ratios to Cutout's settings.
func sweep(model string, runs int, only string) error {
	fmt.Printf("ONNX Runtime settings, bare session.Run, %d runs after a warm-up, one process each (%d cores)\n", runs, runtime.NumCPU())
	fmt.Printf("%-42s %9s %7s %9s %8s %10s %9s\n", "setting", "ms/image", "×time", "peak MB", "×memory", "create ms", "first ms")
	var base0, rss0 float64
	for i, t := range tunings {
		if i > 0 && only != "" && !strings.Contains(t.name, only) {
			continue
		}
		cmd := exec.Command(os.Args[0], "-bare-only", "-model", model, "-bare", strconv.Itoa(runs), "-tune", t.name)
		cmd.Env = append(os.Environ(), t.env...)
		out, err := cmd.Output()
		if err != nil {
			fmt.Printf("%-32s failed: %v\n", t.name, err)
			continue
		}
		f := strings.Fields(string(out))
		if len(f) != 4 {
			return fmt.Errorf("%s: printed %q", t.name, out)
		}
		var v [4]float64
		for k := range v {
			v[k], _ = strconv.ParseFloat(f[k], 64)
		}
		ns, rss := v[0], v[1]
		if i == 0 {
			base0, rss0 = ns, rss
		}
		fmt.Printf("%-42s %9.0f %7.2f %9.0f %8.2f %10.0f %9.0f\n", t.name, ns/1e6, ns/base0, rss/1e6, rss/rss0, v[2]/1e6, v[3]/1e6)
	}
	return nil
}

// profileModel runs the model a few times under ONNX Runtime's profiler and prints where the
// time goes, by operator type.
func profileModel(model string) error {
	if err := infer.Init(""); err != nil {
		return err
	}
	m, data, err := app.EngineConfig{Model: model}.LoadModel()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "cutout-profile-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	s, err := infer.NewSession(m, data, infer.SessionOptions{Tune: func(so *ort.SessionOptions) error {
		return so.EnableProfiling(filepath.Join(dir, "ort"))
	}})
	if err != nil {
		return err
	}
	n := s.Side() * s.Side()
	in, out := make([]float32, 3*n), make([]float32, n)
	for i := range in {
		in[i] = float32(i%255)/255 - 0.5
	}
	const runs = 3
	for i := 0; i < runs; i++ {
		if err := s.Run(in, out); err != nil {
			return err
		}
	}
	s.Close() // writes the profile
	files, _ := filepath.Glob(filepath.Join(dir, "ort*.json"))
	if len(files) == 0 {
		return fmt.Errorf("ONNX Runtime wrote no profile")
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		return err
	}
	var events []struct {
		Cat  string `json:"cat"`
		Name string `json:"name"`
		Dur  int64  `json:"dur"`
		Args struct {
			OpName string `json:"op_name"`
		} `json:"args"`
	}
	if err := json.Unmarshal(raw, &events); err != nil {
		return err
	}
	byOp := map[string]int64{}
	count := map[string]int{}
	var total int64
	for _, e := range events {
		if e.Cat != "Node" || !strings.HasSuffix(e.Name, "_kernel_time") {
			continue
		}
		byOp[e.Args.OpName] += e.Dur
		count[e.Args.OpName]++
		total += e.Dur
	}
	ops := make([]string, 0, len(byOp))
	for op := range byOp {
		ops = append(ops, op)
	}
	sort.Slice(ops, func(i, j int) bool { return byOp[ops[i]] > byOp[ops[j]] })
	fmt.Printf("model %s, %d runs profiled: %.0f ms of kernels per run\n", m.Name, runs, float64(total)/1e3/runs)
	fmt.Printf("%-28s %8s %7s %6s\n", "operator", "ms/run", "share", "nodes")
	for _, op := range ops {
		fmt.Printf("%-28s %8.1f %6.1f%% %6d\n", op, float64(byOp[op])/1e3/runs, 100*float64(byOp[op])/float64(total), count[op]/runs)
	}
	return nil
}
