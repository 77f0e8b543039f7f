package app

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gen2brain/webp"

	"cutout/internal/testenv"
)

func decodeWith(t *testing.T, path string, decode func(*os.File) (image.Image, error)) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := decode(f)
	if err != nil {
		t.Fatalf("%s does not decode: %v", path, err)
	}
	return img
}

// TestRemoveFormats: --format webp writes lossless WebP with the cut-out's alpha, --format
// jpeg lays it over white (or --bgcolor) at the quality asked; each format is its own file
// (named with its extension), and the same command run again skips.
func TestRemoveFormats(t *testing.T) {
	testenv.NeedEngine(t)
	src := filepath.Join(repoRoot(t), "assets", "samples", "coffee.png")
	out := t.TempDir()
	run := func(args ...string) (int, string) {
		var stdout, stderr bytes.Buffer
		code := Main(append([]string{"remove", src, "-o", out}, args...), &stdout, &stderr)
		return code, stderr.String()
	}
	if code, log := run("--format", "webp"); code != 0 {
		t.Fatalf("webp: exit %d\n%s", code, log)
	}
	w := decodeWith(t, filepath.Join(out, "coffee.webp"), func(f *os.File) (image.Image, error) { return webp.Decode(f) })
	alpha := func(img image.Image, x, y int) uint8 { _, _, _, a := img.At(x, y).RGBA(); return uint8(a >> 8) }
	if w.Bounds().Dx() != 600 || alpha(w, 300, 200) < 200 || alpha(w, 5, 395) > 50 {
		t.Errorf("webp: %v, alpha at the cup %d, at the corner %d", w.Bounds(), alpha(w, 300, 200), alpha(w, 5, 395))
	}
	if code, log := run("--format", "jpeg"); code != 0 {
		t.Fatalf("jpeg: exit %d\n%s", code, log)
	}
	j := decodeWith(t, filepath.Join(out, "coffee.jpg"), func(f *os.File) (image.Image, error) { return jpeg.Decode(f) })
	if c := color.NRGBAModel.Convert(j.At(5, 395)).(color.NRGBA); c.R < 240 || c.G < 240 || c.B < 240 {
		t.Errorf("jpeg: the cut-away corner is %v, want white", c)
	}
	if code, log := run("--format", "jpeg", "--bgcolor", "#ff0000", "--quality", "70"); code != 0 {
		t.Fatalf("jpeg over red: exit %d\n%s", code, log)
	}
	j = decodeWith(t, filepath.Join(out, "coffee.jpg"), func(f *os.File) (image.Image, error) { return jpeg.Decode(f) })
	if c := color.NRGBAModel.Convert(j.At(5, 395)).(color.NRGBA); c.R < 200 || c.G > 60 || c.B > 60 {
		t.Errorf("jpeg --bgcolor #ff0000: the corner is %v, want red", c)
	}
	if names := visibleNames(t, out); !slices.Equal(names, []string{"coffee.jpg", "coffee.webp"}) {
		t.Errorf("outputs %v, want one per format (the red JPEG replacing the white one)", names)
	}
	// The journal keeps an input's last output: back to WebP redoes it into its own
	// coffee.webp (no second copy), and the same command again then skips it.
	if code, log := run("--format", "webp"); code != 0 || !strings.Contains(log, "done 1") {
		t.Errorf("webp after jpeg: exit %d\n%s", code, log)
	}
	if code, log := run("--format", "webp"); code != 0 || !strings.Contains(log, "skipped 1 already done") {
		t.Errorf("webp again: exit %d, want it skipped\n%s", code, log)
	}
	if names := visibleNames(t, out); !slices.Equal(names, []string{"coffee.jpg", "coffee.webp"}) {
		t.Errorf("outputs %v after going back to webp", names)
	}
	// Framed for a shop: cropped to the cup, 5 % margin, on a white 1000 × 1000 JPEG.
	framed := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := Main([]string{"remove", src, "-o", framed, "--format", "jpeg", "--crop", "--margin", "5%", "--canvas", "1000x1000"}, &stdout, &stderr); code != 0 {
		t.Fatalf("framed: exit %d\n%s", code, stderr.String())
	}
	f := decodeWith(t, filepath.Join(framed, "coffee.jpg"), func(f *os.File) (image.Image, error) { return jpeg.Decode(f) })
	if f.Bounds().Size() != image.Pt(1000, 1000) {
		t.Errorf("framed: %v, want 1000×1000", f.Bounds())
	}
	for _, p := range []image.Point{{10, 10}, {990, 990}, {10, 990}} {
		if c := color.NRGBAModel.Convert(f.At(p.X, p.Y)).(color.NRGBA); c.R < 240 || c.G < 240 || c.B < 240 {
			t.Errorf("framed: %v is %v, want the white margin", p, c)
		}
	}
	for _, bad := range [][]string{{"--format", "gif"}, {"--format", "jpeg", "--quality", "101"}, {"--margin", "60%"}, {"--canvas", "big"}} {
		if code, _ := run(bad...); code != 2 {
			t.Errorf("%v: exit %d, want 2", bad, code)
		}
	}
}

// TestRemoveBackgrounds: --bg-image lays the cut-out over an image scaled to cover it (the
// image checked and decoded by the engine like any input: a text file is refused with a
// sentence), --bg-blur over its own photo blurred: both opaque.
func TestRemoveBackgrounds(t *testing.T) {
	testenv.NeedEngine(t)
	src := filepath.Join(repoRoot(t), "assets", "samples", "coffee.png")
	dir := t.TempDir()
	green := filepath.Join(dir, "green.png")
	g := image.NewNRGBA(image.Rect(0, 0, 30, 20))
	for i := 0; i < len(g.Pix); i += 4 {
		g.Pix[i+1], g.Pix[i+3] = 200, 255
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, g); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(green, buf.Bytes(), 0o644)
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := Main([]string{"remove", src, "-o", out, "--bg-image", green}, &stdout, &stderr); code != 0 {
		t.Fatalf("--bg-image: exit %d\n%s", code, stderr.String())
	}
	img := decodePNG(t, filepath.Join(out, "coffee.png"))
	if c := color.NRGBAModel.Convert(img.At(5, 395)).(color.NRGBA); c.A != 255 || c.G < 190 || c.R > 10 {
		t.Errorf("--bg-image: the cut-away corner is %v, want the green background", c)
	}
	if c := color.NRGBAModel.Convert(img.At(300, 200)).(color.NRGBA); c.G > 150 && c.R < 50 {
		t.Errorf("--bg-image: the cup's centre is %v, the background shows through", c)
	}
	out2 := t.TempDir()
	stderr.Reset()
	if code := Main([]string{"remove", src, "-o", out2, "--bg-blur", "8"}, &stdout, &stderr); code != 0 {
		t.Fatalf("--bg-blur: exit %d\n%s", code, stderr.String())
	}
	blurred := decodePNG(t, filepath.Join(out2, "coffee.png"))
	if _, _, _, a := blurred.At(5, 395).RGBA(); a != 0xffff {
		t.Errorf("--bg-blur: the corner's alpha is %d, want opaque", a>>8)
	}
	notes := filepath.Join(dir, "notes.png")
	os.WriteFile(notes, []byte("just some words"), 0o644)
	stderr.Reset()
	if code := Main([]string{"remove", src, "-o", t.TempDir(), "--bg-image", notes}, &stdout, &stderr); code != 1 ||
		!strings.Contains(stderr.String(), "the background image") || !strings.Contains(stderr.String(), `"notes.png"`) {
		t.Errorf("a text file as background: exit %d, %q", code, stderr.String())
	}
}
