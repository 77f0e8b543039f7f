package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"cutout/engine/infer"
	"cutout/engine/models"
)

// Engine turns validated image bytes into an upright image and its mask. The supervised
// child process and the in-process engine (tests, benchmarks) both implement it.
type Engine interface {
	// Cut decodes data (named name, for messages) and runs the model on it.
	Cut(ctx context.Context, name string, data []byte) (*infer.Result, error)
	// Close stops the engine and releases the model.
	Close() error
}

// EngineConfig says which model to load and how.
type EngineConfig struct {
	// ModelsDir holds models.toml and the model files; empty means FindModelsDir.
	ModelsDir string
	// Model is the manifest name; empty means the manifest's default.
	Model string
	// UnverifiedModel is a path to a user's own model loaded without a checksum.
	UnverifiedModel string
	// Threads is ONNX Runtime's intra-op thread count; 0 means one per core.
	Threads int
	// Device is auto (default), cpu or cuda.
	Device string
}

// FindModelsDir returns the models folder: $CUTOUT_MODELS, else models/ in one of the places
// infer.SearchDirs lists (beside or above the executable, the working folder and its parents).
func FindModelsDir() (string, error) {
	if d := os.Getenv("CUTOUT_MODELS"); d != "" {
		return d, nil
	}
	for _, d := range infer.SearchDirs() {
		p := filepath.Join(d, "models", models.ManifestName)
		if _, err := os.Stat(p); err == nil {
			return filepath.Dir(p), nil
		}
	}
	return "", errors.New("the models folder (models/models.toml) was not found; set CUTOUT_MODELS or run from the Cutout folder")
}

// Resolve finds the configured model's manifest entry without reading the model: the check a
// command makes before it starts work, and what identifies the model in a journal.
func (c EngineConfig) Resolve() (*models.Model, error) {
	dir := c.ModelsDir
	if dir == "" {
		var err error
		if dir, err = FindModelsDir(); err != nil {
			return nil, err
		}
	}
	man, err := models.Load(dir)
	if err != nil {
		return nil, err
	}
	return man.Lookup(c.Model)
}

// LoadModel resolves and verifies the configured model and returns it with its bytes.
func (c EngineConfig) LoadModel() (*models.Model, []byte, error) {
	dir := c.ModelsDir
	if dir == "" {
		var err error
		if dir, err = FindModelsDir(); err != nil {
			return nil, nil, err
		}
	}
	man, err := models.Load(dir)
	if err != nil {
		return nil, nil, err
	}
	if c.UnverifiedModel != "" {
		return loadUnverified(man, c)
	}
	m, err := man.Lookup(c.Model)
	if err != nil {
		return nil, nil, err
	}
	data, err := models.Verify(m)
	if err != nil {
		return nil, nil, err
	}
	return m, data, nil
}

// loadUnverified takes a user's own model file: the normalisation comes from the manifest
// entry named by c.Model (or the default), the bytes from the path, unchecked.
func loadUnverified(man *models.Manifest, c EngineConfig) (*models.Model, []byte, error) {
	base, err := man.Lookup(c.Model)
	if err != nil {
		return nil, nil, err
	}
	data, err := models.ReadUnverified(c.UnverifiedModel)
	if err != nil {
		return nil, nil, fmt.Errorf("unverified model: %w", err)
	}
	m := *base
	m.Name = filepath.Base(c.UnverifiedModel)
	m.Path = c.UnverifiedModel
	m.Input, m.Output = "", ""
	m.Unverified = true
	return &m, data, nil
}

// NewEngine starts the engine the app uses for untrusted files: the sandboxed child process,
// with its model loaded.
func NewEngine(ctx context.Context, c SupervisorConfig) (Engine, error) {
	s, err := NewSupervisor(c)
	if err != nil {
		return nil, err
	}
	if err := s.Start(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// localEngine runs the model in this process.
type localEngine struct{ e *infer.Engine }

// NewLocalEngine loads ONNX Runtime and the model into this process. The app uses the
// sandboxed child process instead; this serves the child itself, tests and benchmarks.
func NewLocalEngine(c EngineConfig) (Engine, error) {
	if err := infer.Init(""); err != nil {
		return nil, err
	}
	m, data, err := c.LoadModel()
	if err != nil {
		return nil, err
	}
	e, err := infer.NewEngine(m, data, infer.SessionOptions{Threads: c.Threads, Device: c.Device})
	if err != nil {
		return nil, err
	}
	return &localEngine{e: e}, nil
}

func (l *localEngine) Cut(ctx context.Context, name string, data []byte) (*infer.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r, err := l.e.Cut(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(name), err)
	}
	return r, nil
}

func (l *localEngine) Close() error { return l.e.Close() }
