package app

import (
	"bytes"
	"crypto/sha256"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cutout/internal/testenv"
)

func repoRoot(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(wd)
}

func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s is not a valid PNG: %v", path, err)
	}
	return img
}

func sum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// TestRemoveCLI runs `cutout remove` with the real engine on a real photo, a file that is not
// an image and a missing file: the photo is cut out, the two others get one clear line each
// naming the file, the exit code says something failed, and the input is untouched.
func TestRemoveCLI(t *testing.T) {
	testenv.NeedEngine(t)
	in := t.TempDir()
	photo := filepath.Join(in, "coffee.png")
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "assets", "samples", "coffee.png"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(photo, data, 0o644); err != nil {
		t.Fatal(err)
	}
	notes := filepath.Join(in, "notes.png")
	os.WriteFile(notes, []byte("<!doctype html><html><body>hello</body></html>"), 0o644)
	before := sum(t, photo)

	out := filepath.Join(t.TempDir(), "out")
	var stdout, stderr bytes.Buffer
	code := Main([]string{"remove", photo, notes, filepath.Join(in, "missing.jpg"), "-o", out}, &stdout, &stderr)
	log := stderr.String()
	t.Log(log)
	if code != 1 {
		t.Fatalf("exit code %d, want 1 (some inputs failed)", code)
	}
	for _, want := range []string{"notes.png", "HTML", "missing.jpg", "done 1, failed 2"} {
		if !strings.Contains(log, want) {
			t.Errorf("stderr does not mention %q", want)
		}
	}
	if sum(t, photo) != before {
		t.Fatal("the input was modified")
	}
	img := decodePNG(t, filepath.Join(out, "coffee.png"))
	nrgba, ok := img.(*image.NRGBA)
	if !ok || img.Bounds().Dx() != 600 || img.Bounds().Dy() != 400 {
		t.Fatalf("output %T %v, want 600×400 NRGBA", img, img.Bounds())
	}
	// The cup is kept, the table corner is cut away.
	if a := nrgba.NRGBAAt(300, 200).A; a < 200 {
		t.Errorf("alpha at the cup centre = %d, want opaque", a)
	}
	if a := nrgba.NRGBAAt(5, 395).A; a > 50 {
		t.Errorf("alpha at the bottom-left corner = %d, want transparent", a)
	}
	if names := visibleNames(t, out); len(names) != 1 {
		t.Errorf("output folder holds %v, want exactly coffee.png", names)
	}

	// Other settings redo the input into its own output: --mask writes a grey mask over the
	// cut-out, --bgcolor an opaque composite over the mask; no second file appears.
	stderr.Reset()
	if code := Main([]string{"remove", "--mask", photo, "-o", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("--mask: exit %d: %s", code, stderr.String())
	}
	mask := decodePNG(t, filepath.Join(out, "coffee.png"))
	if _, ok := mask.(*image.Gray); !ok {
		t.Errorf("--mask wrote %T, want 8-bit grey", mask)
	}
	if code := Main([]string{"remove", "--bgcolor", "#00ff00", photo, "-o", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("--bgcolor: exit %d: %s", code, stderr.String())
	}
	green := decodePNG(t, filepath.Join(out, "coffee.png"))
	r, g, b, a := green.At(5, 395).RGBA()
	if a != 0xffff || g < 0xf000 || r > 0x1000 || b > 0x1000 {
		t.Errorf("--bgcolor corner = %x %x %x %x, want opaque green", r, g, b, a)
	}
	if names := visibleNames(t, out); len(names) != 1 {
		t.Errorf("after three settings the output folder holds %v, want coffee.png alone", names)
	}
}

// visibleNames lists the names in dir that are not hidden (the journal and lock are).
func visibleNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	return names
}

func TestRemoveUsageErrors(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Main([]string{"remove", "x.jpg"}, &out, &errb); code != 2 {
		t.Errorf("without -o: exit %d, want 2", code)
	}
	if code := Main([]string{"remove", "x.jpg", "-o", t.TempDir(), "--refine", "magic"}, &out, &errb); code != 2 {
		t.Errorf("bad --refine: exit %d, want 2", code)
	}
	if code := Main([]string{"frobnicate"}, &out, &errb); code != 2 {
		t.Errorf("unknown command: exit %d, want 2", code)
	}
}

func TestRemoveUnknownModel(t *testing.T) {
	testenv.NeedEngine(t)
	var out, errb bytes.Buffer
	code := Main([]string{"remove", "x.jpg", "-o", t.TempDir(), "--model", "nope"}, &out, &errb)
	// The model is looked up before any work starts (and before OUT is made).
	if code != 1 || !strings.Contains(errb.String(), `unknown model "nope"`) {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
}
