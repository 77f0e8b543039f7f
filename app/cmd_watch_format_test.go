package app

import (
	"context"
	"image"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gen2brain/webp"
)

// A hot folder takes the same output options as `cutout remove`: --format webp with --crop
// writes cropped WebPs named .webp.
func TestWatchOutputOptions(t *testing.T) {
	eng := testSupervisor(t, SupervisorConfig{})
	base := t.TempDir()
	in, out := filepath.Join(base, "in"), filepath.Join(base, "out")
	copySample(t, "coffee.png", filepath.Join(in, "coffee.png"))
	c, code := parseWatch([]string{in, out, "--once", "--settle", "200ms", "--format", "webp", "--crop"}, os.Stderr)
	if c == nil {
		t.Fatalf("usage error %d", code)
	}
	var log syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if code := c.run(ctx, eng, &log); code != 0 {
		t.Fatalf("exit %d\n%s", code, log.String())
	}
	if names := visibleNames(t, out); !slices.Equal(names, []string{"coffee.webp"}) {
		t.Fatalf("outputs %v, want coffee.webp", names)
	}
	img := decodeWith(t, filepath.Join(out, "coffee.webp"), func(f *os.File) (image.Image, error) { return webp.Decode(f) })
	if b := img.Bounds(); b.Dx() >= 600 || b.Dy() >= 400 {
		t.Errorf("the WebP is %v: not cropped to the cup", b)
	}
	if _, code := parseWatch([]string{in, out, "--format", "tiff"}, &syncBuffer{}); code != 2 {
		t.Errorf("--format tiff: exit %d, want 2", code)
	}
}
