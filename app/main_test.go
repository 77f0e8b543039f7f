package app

import (
	"os"
	"testing"

	_ "cutout/internal/localefix" // the test binary is also the engine: no Fyne locale noise
)

// TestMain lets the test binary double as the engine process: the supervisor tests start
// `<test binary> engine …`, the helper-process pattern of os/exec's own tests.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "engine" {
		os.Exit(cmdEngine(os.Args[2:], os.Stderr))
	}
	os.Exit(m.Run())
}
