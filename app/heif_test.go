package app

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cutout/internal/testenv"
)

// TestRemoveHEIF: `cutout remove` cuts out a HEIC, an AVIF and a phone's tiled HEIC through
// the sandboxed engine, and refuses a truncated HEIC and an AVIF named .png with a line each.
func TestRemoveHEIF(t *testing.T) {
	testenv.NeedEngine(t)
	in, out := t.TempDir(), filepath.Join(t.TempDir(), "out")
	heif := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(repoRoot(t), "engine", "infer", "testdata", "heif", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(in, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := []string{write("coffee.heic", heif("coffee.heic")), write("coffee.avif", heif("coffee.avif")),
		write("IMG_0001.HEIC", heif("coffee-grid.heic"))}
	whole := heif("coffee.heic")
	bad := map[string]string{
		write("cut.heic", whole[:len(whole)/2]):    "damaged or incomplete",
		write("disguised.png", heif("alpha.avif")): "is an AVIF image but its name says PNG",
	}
	args := append([]string{"remove", "-o", out}, good...)
	for p := range bad {
		args = append(args, p)
	}
	var stdout, stderr bytes.Buffer
	code := Main(args, &stdout, &stderr)
	log := stderr.String()
	t.Log(log)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	for p, words := range bad {
		if !strings.Contains(log, filepath.Base(p)) || !strings.Contains(log, words) {
			t.Errorf("%s: no line saying %q", filepath.Base(p), words)
		}
	}
	for _, name := range []string{"coffee.png", "coffee (1).png", "IMG_0001.png"} {
		data, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		n, ok := img.(*image.NRGBA)
		if !ok || n.Rect.Dx() != 600 || n.Rect.Dy() != 400 {
			t.Fatalf("%s: %T %v, want a 600 × 400 NRGBA", name, img, img.Bounds())
		}
		clear, opaque := 0, 0
		for i := 3; i < len(n.Pix); i += 4 {
			switch n.Pix[i] {
			case 0:
				clear++
			case 255:
				opaque++
			}
		}
		if clear < len(n.Pix)/40 || opaque < len(n.Pix)/40 {
			t.Errorf("%s: %d clear and %d opaque pixels: not a cut-out", name, clear, opaque)
		}
	}
}
