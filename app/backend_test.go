package app

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cutout/engine/matte"
	"cutout/engine/validate"
	"cutout/internal/testenv"
	"cutout/ui"
)

// testBackend is the GUI's backend on the real engine (the test binary in engine mode,
// real ONNX Runtime, the real quantised model).
func testBackend(t *testing.T) *backend {
	t.Helper()
	testenv.NeedEngine(t)
	b := newBackend(SupervisorConfig{command: []string{os.Args[0], "engine"}})
	s := b.Defaults()
	s.Model = "isnet-general-q8"
	if err := b.Apply(s); err != nil {
		t.Fatalf("the engine could not be set up (run `make test`, which installs ONNX Runtime and the models): %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// The real backend cuts out a sample photo, and its PNG, written through the sink, carries
// the finished matte as alpha; a second save never replaces the first.
func TestBackendCutsSample(t *testing.T) {
	b := testBackend(t)
	files, errs := b.Expand([]string{filepath.Join(repoRoot(t), "assets", "samples")})
	if len(errs) > 0 || len(files) != 4 {
		t.Fatalf("samples: %v %v", files, errs)
	}
	path := filepath.Join(repoRoot(t), "assets", "samples", "coffee.png")
	validated := false
	c, err := b.Cut(context.Background(), path, func() { validated = true })
	if err != nil {
		t.Fatal(err)
	}
	img := c.Image
	mask := c.Mask(600, 400)
	if !validated || img.Bounds().Size() != image.Pt(600, 400) || mask.Rect.Size() != img.Bounds().Size() {
		t.Fatalf("validated %v, image %v, mask %v", validated, img.Bounds(), mask.Rect)
	}
	// The mask at another size (the preview's) is the prediction resampled, not the full
	// mask reduced, but the two agree.
	small := c.Mask(300, 200)
	var diff int
	for y := 0; y < 200; y++ {
		for x := 0; x < 300; x++ {
			var sum int
			for _, p := range [][2]int{{0, 0}, {1, 0}, {0, 1}, {1, 1}} {
				sum += int(mask.GrayAt(2*x+p[0], 2*y+p[1]).Y)
			}
			d := int(small.GrayAt(x, y).Y) - (sum+2)/4
			diff += max(d, -d)
		}
	}
	if mean := float64(diff) / (300 * 200); mean > 1 {
		t.Errorf("the half-size mask differs from the full one's 2×2 means by %.2f levels on average", mean)
	}
	var fg, bg int
	for _, v := range mask.Pix {
		switch {
		case v > 230:
			fg++
		case v < 25:
			bg++
		}
	}
	if n := len(mask.Pix); fg < n/10 || bg < n/10 {
		t.Errorf("the mask is not a cut-out: %d%% foreground, %d%% background", 100*fg/n, 100*bg/n)
	}
	rgba, ok := img.(*image.NRGBA)
	if !ok {
		t.Fatalf("a PNG came back as %T", img)
	}
	// A JPEG comes back in its Y′CbCr, for the window to convert what it shows.
	jpg, err := b.Cut(context.Background(), filepath.Join(repoRoot(t), "assets", "samples", "rocket.jpg"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := jpg.Image.(*image.YCbCr); !ok {
		t.Errorf("a JPEG came back as %T", jpg.Image)
	}
	o := matte.DefaultOptionsFor(matte.RefineGuided)
	want, _ := matte.Alpha(rgba, mask, nil, o)
	before := append([]uint8(nil), rgba.Pix...)
	dir := t.TempDir()
	p1, err := b.Export(rgba, mask, nil, o, ui.ExportFormat{}, dir, "coffee.png", false)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := b.Export(rgba, mask, nil, o, ui.ExportFormat{}, dir, "coffee.png", false)
	if err != nil || p1 == p2 || filepath.Base(p1) != "coffee.png" {
		t.Fatalf("exports: %s, %s, %v", p1, p2, err)
	}
	if !bytes.Equal(rgba.Pix, before) {
		t.Error("the export changed the window's photo")
	}
	got := decodePNG(t, p1)
	for y := 0; y < 400; y += 7 {
		for x := 0; x < 600; x += 7 {
			_, _, _, a := got.At(x, y).RGBA()
			if uint8(a>>8) != want.GrayAt(x, y).Y {
				t.Fatalf("alpha at (%d,%d) = %d, want %d", x, y, a>>8, want.GrayAt(x, y).Y)
			}
		}
	}
}

// Refused and broken files come back as sentences naming the file and what to do.
func TestBackendErrorsAreSentences(t *testing.T) {
	b := testBackend(t)
	dir := t.TempDir()
	huge := filepath.Join(dir, "huge.png")
	if err := os.WriteFile(huge, pngClaiming(t, 100000, 100000), 0o644); err != nil {
		t.Fatal(err)
	}
	html := filepath.Join(dir, "page.png")
	os.WriteFile(html, []byte("<!DOCTYPE html><html><body>hi</body></html>"), 0o644)
	for _, tc := range []struct {
		path string
		want []string
	}{
		{huge, []string{"huge.png", "100000 × 100000", "the limit is 16384", "raise the limit in Settings"}},
		{html, []string{"page.png", "HTML", "Convert it"}},
		{filepath.Join(dir, "gone.jpg"), []string{"gone.jpg", "moved or deleted"}},
	} {
		_, err := b.Cut(context.Background(), tc.path, nil)
		if err == nil {
			t.Fatalf("%s was accepted", tc.path)
		}
		t.Log(err)
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q lacks %q", err, w)
			}
		}
	}
	if _, err := b.Export(image.NewNRGBA(image.Rect(0, 0, 2, 2)), image.NewGray(image.Rect(0, 0, 2, 2)), nil, matte.DefaultOptions(), ui.ExportFormat{}, "/proc/nonexistent", "a.png", false); err == nil ||
		!strings.Contains(err.Error(), "choose another folder") {
		t.Errorf("save into a bad folder: %v", err)
	}
	s := b.Defaults()
	s.Model = "no-such-model"
	if err := b.Apply(s); err == nil || !strings.Contains(err.Error(), "not installed") {
		t.Errorf("unknown model: %v", err)
	}
}

// Apply with new settings replaces the engine; cuts go on working.
func TestBackendApply(t *testing.T) {
	b := testBackend(t)
	s := b.Defaults()
	s.Model, s.Threads = "isnet-general-q8", 1
	if err := b.Apply(s); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Cut(context.Background(), filepath.Join(repoRoot(t), "assets", "samples", "coffee.png"), nil); err != nil {
		t.Fatal(err)
	}
	var _ ui.Backend = b
}

// pngClaiming is a tiny PNG whose header claims w × h pixels.
func pngClaiming(t *testing.T, w, h uint32) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 1, 1))); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	binary.BigEndian.PutUint32(b[16:], w) // IHDR data starts after signature(8)+length(4)+type(4)
	binary.BigEndian.PutUint32(b[20:], h)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}

// Every kind of refusal comes with its own advice, not the catch-all.
func TestRefusalAdviceForEveryKind(t *testing.T) {
	fallback := refusalAdvice(errors.New("something else"))
	seen := map[string]error{}
	for _, kind := range []error{validate.ErrTooLarge, validate.ErrUnsupportedFormat, validate.ErrExtensionMismatch,
		validate.ErrDimensions, validate.ErrNotRegularFile, validate.ErrSymlinkEscape, validate.ErrCorrupt,
		validate.ErrNotFound, validate.ErrPermission, validate.ErrTooComplex} {
		advice := refusalAdvice(fmt.Errorf("refused: %w", kind))
		if advice == fallback {
			t.Errorf("%v gets the catch-all advice %q", kind, advice)
		}
		if prev, dup := seen[advice]; dup {
			t.Errorf("%v and %v get the same advice %q", kind, prev, advice)
		}
		seen[advice] = kind
	}
}
