package infer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// LibraryName is the ONNX Runtime shared library's file name, as `make` installs it in lib/.
const LibraryName = "libonnxruntime.so.1"

// LibraryEnv names the environment variable that overrides where the library is found.
const LibraryEnv = "CUTOUT_ORT_LIB"

var (
	initOnce sync.Once
	initErr  error
)

// SearchDirs lists where Cutout looks for what `make` installs (lib/, models/): the
// executable's folder and its parent, then the working folder and its ancestors (for
// `go test` and `go run`).
func SearchDirs() []string {
	var dirs []string
	if exe, err := os.Executable(); err == nil {
		if exe, err = filepath.EvalSymlinks(exe); err == nil {
			d := filepath.Dir(exe)
			dirs = append(dirs, d, filepath.Dir(d))
		}
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			dirs = append(dirs, d)
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	return dirs
}

// FindLibrary returns the ONNX Runtime library to load: $CUTOUT_ORT_LIB, else lib/ in one of
// SearchDirs.
func FindLibrary() (string, error) {
	if p := os.Getenv(LibraryEnv); p != "" {
		return p, nil
	}
	for _, d := range SearchDirs() {
		p := filepath.Join(d, "lib", LibraryName)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", fmt.Errorf("the ONNX Runtime library %s was not found in lib/ (run `make ort`, or set %s)", LibraryName, LibraryEnv)
}

// Init loads ONNX Runtime once per process; later calls return the first call's result. It
// also loads libheif (LoadHEIF), as the engine calls it before its lockdown; without libheif
// only HEIC and AVIF fail.
func Init(libPath string) error {
	_ = LoadHEIF()
	initOnce.Do(func() {
		if libPath == "" {
			libPath, initErr = FindLibrary()
			if initErr != nil {
				return
			}
		}
		ort.SetSharedLibraryPath(libPath)
		if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
			initErr = fmt.Errorf("loading ONNX Runtime from %s: %w", libPath, err)
			return
		}
		_ = ort.DisableTelemetry()
	})
	return initErr
}

// Version reports the loaded ONNX Runtime's version.
func Version() string {
	if !ort.IsInitialized() {
		return ""
	}
	return ort.GetVersion()
}

// ErrNotInitialized means Init was not called or failed.
var ErrNotInitialized = errors.New("ONNX Runtime is not loaded")
