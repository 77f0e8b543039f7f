package infer

import (
	"image"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"cutout/engine/models"
	"cutout/internal/testenv"
)

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
	engineOnce sync.Once
	engineVal  *Engine
	engineErr  error
)

// realEngine loads the real ONNX Runtime and the real default (quantised) model once per test
// binary. `make test` installs both; without them the test fails and says how to get them.
func realEngine(tb testing.TB) *Engine {
	tb.Helper()
	testenv.NeedEngine(tb)
	engineOnce.Do(func() {
		root := repoRoot(tb)
		if engineErr = Init(""); engineErr != nil {
			return
		}
		var man *models.Manifest
		if man, engineErr = models.Load(filepath.Join(root, "models")); engineErr != nil {
			return
		}
		m, err := man.Lookup("isnet-general-q8")
		if err != nil {
			engineErr = err
			return
		}
		data, err := models.Verify(m)
		if err != nil {
			engineErr = err
			return
		}
		engineVal, engineErr = NewEngine(m, data, SessionOptions{})
	})
	if engineErr != nil {
		tb.Fatalf("the real engine is needed (run `make test`, which installs ONNX Runtime and the models): %v", engineErr)
	}
	return engineVal
}

// installedModel is one of the models `make` installs, verified, with its bytes.
func installedModel(tb testing.TB, name string) (*models.Model, []byte) {
	tb.Helper()
	testenv.NeedEngine(tb)
	man, err := models.Load(filepath.Join(repoRoot(tb), "models"))
	if err != nil {
		tb.Fatal(err)
	}
	m, err := man.Lookup(name)
	if err != nil {
		tb.Fatal(err)
	}
	data, err := models.Verify(m)
	if err != nil {
		tb.Fatalf("%s is installed by make (run `make test`): %v", name, err)
	}
	return m, data
}

// modelMask runs a session of model m made from data with opt on img and returns the raw
// prediction.
func modelMask(tb testing.TB, m *models.Model, data []byte, opt SessionOptions, img image.Image) []float32 {
	tb.Helper()
	s, err := NewSession(m, data, opt)
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	n := s.Side() * s.Side()
	in, out := make([]float32, 3*n), make([]float32, n)
	Preprocess(img, m, in)
	if err := s.Run(in, out); err != nil {
		tb.Fatal(err)
	}
	return out
}

// grayAt reads a PNG as an 8-bit grey image.
func readGray(tb testing.TB, path string) *image.Gray {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	img, err := Decode(data)
	if err != nil {
		tb.Fatal(err)
	}
	g := image.NewGray(img.Rect)
	for i := range g.Pix {
		g.Pix[i] = img.Pix[4*i]
	}
	return g
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
