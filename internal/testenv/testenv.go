// Package testenv tells tests whether what `make` installs — ONNX Runtime and the models — is
// there. `go test ./...` on a fresh clone skips the tests that need them, saying which make
// target installs them; `make test` (and so CI) sets CUTOUT_REQUIRE_ENGINE=1, and there a
// missing piece fails the test instead, so it can never pass by skipping.
package testenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// RequireVar is the environment variable that turns a missing engine into a failure.
const RequireVar = "CUTOUT_REQUIRE_ENGINE"

var (
	once    sync.Once
	missing error
)

// NeedEngine skips tb (or fails it under `make test`) when ONNX Runtime or the default
// model is not installed.
func NeedEngine(tb testing.TB) {
	tb.Helper()
	once.Do(func() { missing = check() })
	if missing == nil {
		return
	}
	if os.Getenv(RequireVar) == "1" {
		tb.Fatalf("%v", missing)
	}
	tb.Skipf("%v", missing)
}

// check looks for the library and the default model where the app looks for them:
// CUTOUT_ORT_LIB and CUTOUT_MODELS when set, else lib/ and models/ in the repository.
func check() error {
	lib, dir := os.Getenv("CUTOUT_ORT_LIB"), os.Getenv("CUTOUT_MODELS")
	if lib == "" || dir == "" {
		root, err := repoRoot()
		if err != nil {
			return err
		}
		if lib == "" {
			lib = filepath.Join(root, "lib", "libonnxruntime.so.1")
		}
		if dir == "" {
			dir = filepath.Join(root, "models")
		}
	}
	if _, err := os.Stat(lib); err != nil {
		return fmt.Errorf("ONNX Runtime is not installed (%s): run `make ort` (or `make test`)", lib)
	}
	for _, m := range []string{"models.toml", "isnet-general-q8.onnx"} {
		if _, err := os.Stat(filepath.Join(dir, m)); err != nil {
			return fmt.Errorf("the models are not installed (%s): run `make models` (or `make test`)", filepath.Join(dir, m))
		}
	}
	return nil
}

// repoRoot is the folder above the working one that holds go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", errors.New("not inside the Cutout repository")
		}
		dir = up
	}
}
