package onnxgraph

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	ort "github.com/yalue/onnxruntime_go"
	"google.golang.org/protobuf/encoding/protowire"

	"cutout/engine/models"
	"cutout/internal/testenv"
)

// msg builds a protobuf message from (field number, payload) pairs: a []byte or string payload
// is length-delimited, an int a varint.
func msg(kv ...any) []byte {
	var b []byte
	for i := 0; i+1 < len(kv); i += 2 {
		num := protowire.Number(kv[i].(int))
		switch v := kv[i+1].(type) {
		case []byte:
			b = protowire.AppendTag(b, num, protowire.BytesType)
			b = protowire.AppendBytes(b, v)
		case string:
			b = protowire.AppendTag(b, num, protowire.BytesType)
			b = protowire.AppendString(b, v)
		case int:
			b = protowire.AppendTag(b, num, protowire.VarintType)
			b = protowire.AppendVarint(b, uint64(v))
		}
	}
	return b
}

// repoRoot is the repository's top folder, found from this package's folder.
func repoRoot(tb testing.TB) string {
	tb.Helper()
	wd, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	return filepath.Join(wd, "..", "..")
}

var (
	runtimeOnce sync.Once
	runtimeErr  error
)

// loadRuntime loads ONNX Runtime once per test binary, to run the rewritten models: from
// $CUTOUT_ORT_LIB, else lib/ (`make ort` installs it). The package itself never loads it, and
// cannot use infer.Init, which imports this package.
func loadRuntime(tb testing.TB) {
	tb.Helper()
	testenv.NeedEngine(tb)
	runtimeOnce.Do(func() {
		lib := os.Getenv("CUTOUT_ORT_LIB")
		if lib == "" {
			lib = filepath.Join(repoRoot(tb), "lib", "libonnxruntime.so.1")
		}
		ort.SetSharedLibraryPath(lib)
		runtimeErr = ort.InitializeEnvironment(ort.WithLogLevelError())
	})
	if runtimeErr != nil {
		tb.Fatalf("ONNX Runtime is needed to run the rewritten models (run `make ort`, or set CUTOUT_ORT_LIB): %v", runtimeErr)
	}
}

// runOutput runs a model with the float input x and reads its output name, of len(x) values.
func runOutput(t *testing.T, data []byte, name string, x []float32) []float32 {
	t.Helper()
	n := int64(len(x))
	return runModel(t, data, name, x, ort.NewShape(n), ort.NewShape(n))
}

// runModel runs a model with the float input "x" of shape in and reads its float output name
// of shape out.
func runModel(t *testing.T, data []byte, name string, x []float32, inShape, outShape ort.Shape) []float32 {
	t.Helper()
	loadRuntime(t)
	s, err := ort.NewDynamicAdvancedSessionWithONNXData(data, []string{"x"}, []string{name}, nil)
	if err != nil {
		t.Fatalf("ONNX Runtime refuses the model: %v", err)
	}
	defer s.Destroy()
	in, err := ort.NewTensor(inShape, x)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Destroy()
	out, err := ort.NewEmptyTensor[float32](outShape)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Destroy()
	if err := s.Run([]ort.Value{in}, []ort.Value{out}); err != nil {
		t.Fatal(err)
	}
	return slices.Clone(out.GetData())
}

type shipped struct {
	m    *models.Model
	data []byte
	err  error
}

var (
	shippedMu     sync.Mutex
	shippedModels = map[string]*shipped{}
)

// shippedModel is one of the models `make models` installs, verified against the manifest,
// read once per test binary. A model not installed skips the test (it needs no ONNX Runtime),
// or fails it under `make test`, like testenv.NeedEngine.
func shippedModel(tb testing.TB, name string) (*models.Model, []byte) {
	tb.Helper()
	shippedMu.Lock()
	s := shippedModels[name]
	if s == nil {
		s = &shipped{}
		var man *models.Manifest
		if man, s.err = models.Load(filepath.Join(repoRoot(tb), "models")); s.err == nil {
			if s.m, s.err = man.Lookup(name); s.err == nil {
				s.data, s.err = models.Verify(s.m)
			}
		}
		shippedModels[name] = s
	}
	shippedMu.Unlock()
	if errors.Is(s.err, models.ErrNotInstalled) && os.Getenv(testenv.RequireVar) != "1" {
		tb.Skipf("%v", s.err) // names `make models`
	}
	if s.err != nil {
		tb.Fatal(s.err)
	}
	return s.m, s.data
}
