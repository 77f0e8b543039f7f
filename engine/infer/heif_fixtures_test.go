package infer

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	xdraw "golang.org/x/image/draw"

	"cutout/internal/fixture"
)

// heifDir holds the committed HEIC and AVIF fixtures; TestWriteHEIFFixtures makes them.
var heifDir = filepath.Join("testdata", "heif")

// TestWriteHEIFFixtures remakes the committed HEIC and AVIF fixtures with heif-enc
// (libheif-examples, which `make deps` installs) when CUTOUT_WRITE_FIXTURES=1; otherwise it
// does nothing, and the other tests read the committed files. libheif 1.15's heif-enc
// writes no grids and no rotations: the grids are put together from tiles it encodes, and
// the tests add irot and imir themselves (fixture.Irot, fixture.Imir).
func TestWriteHEIFFixtures(t *testing.T) {
	if os.Getenv("CUTOUT_WRITE_FIXTURES") != "1" {
		t.Skip("set CUTOUT_WRITE_FIXTURES=1 to remake testdata/heif with heif-enc")
	}
	if _, err := exec.LookPath("heif-enc"); err != nil {
		t.Fatal("heif-enc is not installed: run `make deps` (Debian package libheif-examples)")
	}
	coffee := readPNG(t, filepath.Join(repoRoot(t), "assets", "samples", "coffee.png"))
	for _, c := range []struct {
		name    string
		img     image.Image
		quality string
	}{
		{"coffee", coffee, "50"},
		{"alpha", alphaPattern(), "90"},
		{"orient", quadrants(64, 48), "90"},
	} {
		writeFixture(t, c.name+".heic", heifEnc(t, c.img, c.quality, false))
		writeFixture(t, c.name+".avif", heifEnc(t, c.img, c.quality, true))
	}
	// coffee as a phone writes it: 512 × 512 tiles, the last column and row cropped.
	for _, avif := range []bool{false, true} {
		var tiles []*fixture.HEIF
		for x := 0; x < 1024; x += 512 {
			tile := image.NewNRGBA(image.Rect(0, 0, 512, 512))
			for y := range 512 {
				for i := range 512 {
					tile.Set(i, y, coffee.At(min(x+i, 599), min(y, 399)))
				}
			}
			h, err := fixture.ReadHEIF(heifEnc(t, tile, "50", avif))
			if err != nil {
				t.Fatal(err)
			}
			tiles = append(tiles, h)
		}
		name := map[bool]string{false: "coffee-grid.heic", true: "coffee-grid.avif"}[avif]
		writeFixture(t, name, fixture.Grid(tiles, 2, 1, 600, 400).Bytes())
	}
	// A 12-megapixel photo as a phone writes it: 4032 × 3024 in 8 × 6 tiles of 512 × 512.
	big := image.NewNRGBA(image.Rect(0, 0, 4096, 3072))
	xdraw.CatmullRom.Scale(big, image.Rect(0, 0, 4032, 3024), coffee, coffee.Bounds(), draw.Src, nil)
	var tiles []*fixture.HEIF
	for y := 0; y < 3072; y += 512 {
		for x := 0; x < 4096; x += 512 {
			h, err := fixture.ReadHEIF(heifEnc(t, big.SubImage(image.Rect(x, y, x+512, y+512)), "30", false))
			if err != nil {
				t.Fatal(err)
			}
			tiles = append(tiles, h)
		}
	}
	writeFixture(t, "phone-12mp.heic", fixture.Grid(tiles, 8, 6, 4032, 3024).Bytes())
}

// heifEnc encodes img with heif-enc at quality q, as HEIC or AVIF.
func heifEnc(t *testing.T, img image.Image, q string, avif bool) []byte {
	t.Helper()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.png"), filepath.Join(dir, "out.heic")
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-q", q, "-o", out, in}
	if avif {
		args = append([]string{"-A"}, args...)
	}
	if msg, err := exec.Command("heif-enc", args...).CombinedOutput(); err != nil {
		t.Fatalf("heif-enc %v: %v\n%s", args, err, msg)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func writeFixture(t *testing.T, name string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(heifDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(heifDir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d bytes", name, len(data))
}

func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(readFile(t, path)))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// quadrants is a w × h image whose quarters are red (top left), green (top right), blue
// (bottom left) and white: every turn and mirror puts them somewhere else.
func quadrants(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetNRGBA(x, y, quadrantColour(x >= w/2, y >= h/2))
		}
	}
	return img
}

func quadrantColour(right, bottom bool) color.NRGBA {
	switch {
	case !right && !bottom:
		return color.NRGBA{230, 20, 20, 255}
	case right && !bottom:
		return color.NRGBA{20, 200, 20, 255}
	case !right:
		return color.NRGBA{20, 20, 230, 255}
	}
	return color.NRGBA{240, 240, 240, 255}
}

// alphaPattern is 96 × 64: a colour gradient, opaque inside an ellipse, transparent outside
// it, with a soft edge.
func alphaPattern() *image.NRGBA {
	const w, h = 96, 64
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Rect, image.Transparent, image.Point{}, draw.Src)
	for y := range h {
		for x := range w {
			dx, dy := (float64(x)+0.5-w/2)/(w*0.35), (float64(y)+0.5-h/2)/(h*0.35)
			r := math.Sqrt(dx*dx + dy*dy)
			a := math.Max(0, math.Min(1, (1.15-r)/0.3))
			img.SetNRGBA(x, y, color.NRGBA{uint8(x * 255 / w), uint8(y * 255 / h), 160, uint8(a * 255)})
		}
	}
	return img
}
