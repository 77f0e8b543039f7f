package infer

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/disintegration/imaging"

	"cutout/engine/validate"
	"cutout/internal/fixture"
	"cutout/internal/testenv"
)

// needHEIF skips a test (fails it under `make test`) when libheif cannot be loaded.
func needHEIF(t *testing.T) {
	t.Helper()
	if err := LoadHEIF(); err != nil {
		if os.Getenv(testenv.RequireVar) == "1" {
			t.Fatal(err)
		}
		t.Skipf("%v (run `make deps`)", err)
	}
}

// decodeFixture validates and decodes a file of testdata/heif (or bytes made from one).
func decodeFixture(t *testing.T, name string, data []byte) *image.NRGBA {
	t.Helper()
	if data == nil {
		data = readFile(t, filepath.Join(heifDir, name))
	}
	if _, err := validate.Bytes(name, data, validate.Limits{}); err != nil {
		t.Fatalf("validation: %v", err)
	}
	img, err := Decode(data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return img
}

// meanDiff is the mean absolute difference of two images' channels (0–255), alpha included.
func meanDiff(t *testing.T, a, b *image.NRGBA) float64 {
	t.Helper()
	if a.Rect.Size() != b.Rect.Size() {
		t.Fatalf("sizes differ: %v and %v", a.Rect, b.Rect)
	}
	var sum float64
	for y := range a.Rect.Dy() {
		for x := range 4 * a.Rect.Dx() {
			sum += math.Abs(float64(a.Pix[y*a.Stride+x]) - float64(b.Pix[y*b.Stride+x]))
		}
	}
	return sum / float64(4*a.Rect.Dx()*a.Rect.Dy())
}

// TestHEIFDecodesLikePNG: coffee.png as HEIC and AVIF, each alone and as a grid of 512 × 512
// tiles whose last column and row are cropped (as phones write), decodes to the PNG's size
// and colours (lossy at quality 50: within 5/255 on average), so the colour conversion's
// matrix and range are right and the tiles are in their places.
func TestHEIFDecodesLikePNG(t *testing.T) {
	needHEIF(t)
	want := imaging.Clone(readPNG(t, filepath.Join(repoRoot(t), "assets", "samples", "coffee.png")))
	for _, name := range []string{"coffee.heic", "coffee.avif", "coffee-grid.heic", "coffee-grid.avif"} {
		got := decodeFixture(t, name, nil)
		d := meanDiff(t, got, want)
		t.Logf("%s: mean abs diff %.2f/255 from the PNG", name, d)
		if d > 5 {
			t.Errorf("%s: mean abs diff %.2f/255 from the PNG", name, d)
		}
	}
}

// transformed applies HEIF transformations, in order, to img: irot turns anticlockwise by
// quarter-turns, imir mode 0 swaps top and bottom, mode 1 left and right (as ISO/IEC
// 23008-12:2022 has it, and libheif and libavif read it).
func transformed(img *image.NRGBA, props []fixture.HEIFProp) *image.NRGBA {
	for _, p := range props {
		switch {
		case p.Type == "irot":
			for range p.Body[0] & 3 {
				img = imaging.Rotate90(img)
			}
		case p.Type == "imir" && p.Body[0]&1 == 0:
			img = imaging.FlipV(img)
		case p.Type == "imir":
			img = imaging.FlipH(img)
		}
	}
	return img
}

// TestHEIFOrientation: a picture of four coloured quarters with every irot, both imir axes
// and a turn followed by a mirror comes out as those transformations make it, for HEIC and
// AVIF, alone and (HEIC) as a grid of four tiles; the EXIF orientation plays no part.
func TestHEIFOrientation(t *testing.T) {
	needHEIF(t)
	cases := [][]fixture.HEIFProp{
		{fixture.Irot(1)}, {fixture.Irot(2)}, {fixture.Irot(3)},
		{fixture.Imir(0)}, {fixture.Imir(1)},
		{fixture.Irot(1), fixture.Imir(0)},
	}
	for _, name := range []string{"orient.heic", "orient.avif"} {
		base := decodeFixture(t, name, nil)
		for _, props := range cases {
			h, err := fixture.ReadHEIF(readFile(t, filepath.Join(heifDir, name)))
			if err != nil {
				t.Fatal(err)
			}
			it := h.Item(h.Primary)
			it.Props = append(it.Props, props...)
			label := fmt.Sprintf("%s %s", name, describe(props))
			got := decodeFixture(t, name, h.Bytes())
			want := transformed(base, props)
			if got.Rect.Size() != want.Rect.Size() {
				t.Fatalf("%s: %v, want %v", label, got.Rect, want.Rect)
			}
			checkQuadrants(t, label, got, want)
		}
	}
}

// describe names transformations for a test's messages: "irot 1 + imir 0".
func describe(props []fixture.HEIFProp) string {
	s := ""
	for i, p := range props {
		if i > 0 {
			s += " + "
		}
		s += fmt.Sprintf("%s %d", p.Type, p.Body[0])
	}
	return s
}

// checkQuadrants compares got with want at the centre of each quarter (where the lossy
// coding keeps the colour) and on the whole (mean abs diff).
func checkQuadrants(t *testing.T, label string, got, want *image.NRGBA) {
	t.Helper()
	w, h := got.Rect.Dx(), got.Rect.Dy()
	for _, p := range []image.Point{{w / 4, h / 4}, {3 * w / 4, h / 4}, {w / 4, 3 * h / 4}, {3 * w / 4, 3 * h / 4}} {
		g, e := got.NRGBAAt(p.X, p.Y), want.NRGBAAt(p.X, p.Y)
		if far(g, e, 40) {
			t.Errorf("%s: %v at %v, want %v", label, g, p, e)
		}
	}
	if d := meanDiff(t, got, want); d > 3 {
		t.Errorf("%s: mean abs diff %.2f/255 from the base turned in Go", label, d)
	}
}

func far(a, b color.NRGBA, tol int) bool {
	abs := func(x int) int { return max(x, -x) }
	return abs(int(a.R)-int(b.R)) > tol || abs(int(a.G)-int(b.G)) > tol || abs(int(a.B)-int(b.B)) > tol || abs(int(a.A)-int(b.A)) > tol
}

// TestHEIFGridOrientation: a 2 × 2 grid of one tile, cropped on the right and at the
// bottom, puts the tile in each place, and irot on the grid item turns the whole.
func TestHEIFGridOrientation(t *testing.T) {
	needHEIF(t)
	base, err := fixture.ReadHEIF(readFile(t, filepath.Join(heifDir, "orient.heic")))
	if err != nil {
		t.Fatal(err)
	}
	// The tile alone: the primary image, shown (a hidden item cannot be primary).
	alone, _ := fixture.ReadHEIF(readFile(t, filepath.Join(heifDir, "orient.heic")))
	coded := alone.Coded()
	alone.Primary, coded.Hidden = coded.ID, false
	tile := decodeFixture(t, "tile.heic", alone.Bytes())
	tw, th := tile.Rect.Dx(), tile.Rect.Dy()
	w, h := 2*tw-8, 2*th-6
	g := fixture.Grid([]*fixture.HEIF{base, base, base, base}, 2, 2, uint32(w), uint32(h))
	want := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			want.SetNRGBA(x, y, tile.NRGBAAt(x%tw, y%th))
		}
	}
	checkQuadrants(t, "grid", decodeFixture(t, "grid.heic", g.Bytes()), want)
	g.Item(1).Props = append(g.Item(1).Props, fixture.Irot(1))
	checkQuadrants(t, "grid irot 1", decodeFixture(t, "grid-irot.heic", g.Bytes()), imaging.Rotate90(want))
}

// TestHEIFAlpha: a picture with an alpha plane (an auxiliary image in HEIF) keeps it: the
// alpha comes back as encoded (within the lossy coding's error) and the colours are not
// premultiplied.
func TestHEIFAlpha(t *testing.T) {
	needHEIF(t)
	src := alphaPattern()
	for _, name := range []string{"alpha.heic", "alpha.avif"} {
		got := decodeFixture(t, name, nil)
		var alphaDiff, colourDiff, opaque float64
		for i := 0; i < len(src.Pix); i += 4 {
			alphaDiff += math.Abs(float64(got.Pix[i+3]) - float64(src.Pix[i+3]))
			if src.Pix[i+3] == 255 {
				for c := range 3 {
					colourDiff += math.Abs(float64(got.Pix[i+c]) - float64(src.Pix[i+c]))
				}
				opaque++
			}
		}
		n := float64(len(src.Pix) / 4)
		t.Logf("%s: alpha mean abs diff %.2f/255, colour %.2f/255 where opaque", name, alphaDiff/n, colourDiff/(3*opaque))
		if alphaDiff/n > 4 || colourDiff/(3*opaque) > 6 {
			t.Errorf("%s: alpha off by %.2f/255, colours by %.2f/255", name, alphaDiff/n, colourDiff/(3*opaque))
		}
		if c, e := got.NRGBAAt(0, 0), got.NRGBAAt(48, 32); c.A > 8 || e.A < 247 {
			t.Errorf("%s: corner alpha %d, centre alpha %d", name, c.A, e.A)
		}
	}
}

// TestHEIFCutsOutLikePNG: the real engine cuts coffee.png out the same as a HEIC or an AVIF
// of it, alone or in tiles: mask IoU ≥ 0.97 against the PNG's mask.
func TestHEIFCutsOutLikePNG(t *testing.T) {
	e := realEngine(t)
	needHEIF(t)
	ref, err := e.Cut(readFile(t, filepath.Join(repoRoot(t), "assets", "samples", "coffee.png")))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"coffee.heic", "coffee.avif", "coffee-grid.heic", "coffee-grid.avif"} {
		r, err := e.Cut(readFile(t, filepath.Join(heifDir, name)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if r.Mask.Rect != ref.Mask.Rect {
			t.Fatalf("%s: mask %v, want %v", name, r.Mask.Rect, ref.Mask.Rect)
		}
		iou, mad := maskAgreement(r.Mask, ref.Mask)
		t.Logf("%s: IoU %.4f, mean abs diff %.2f/255 against the PNG's mask", name, iou, mad)
		if iou < 0.97 {
			t.Errorf("%s: IoU %.4f against the PNG's mask, want ≥ 0.97", name, iou)
		}
	}
}

// TestHEIFFuzzSeedsDecode: the box walk's fuzz seeds (engine/validate/testdata/fuzz/FuzzHEIF)
// that validation accepts go through libheif without bringing the process down; whether
// they decode is libheif's to say.
func TestHEIFFuzzSeedsDecode(t *testing.T) {
	needHEIF(t)
	seeds, _ := filepath.Glob(filepath.Join("..", "validate", "testdata", "fuzz", "FuzzHEIF", "*"))
	accepted := 0
	for _, p := range seeds {
		data, err := fuzzSeedBytes(readFile(t, p))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if _, err := validate.Bytes("seed", data, validate.Limits{}); err != nil {
			continue
		}
		accepted++
		_, err = Decode(data)
		t.Logf("%s: %v", filepath.Base(p), err)
	}
	t.Logf("%d of %d seeds accepted by validation", accepted, len(seeds))
}

// fuzzSeedBytes reads the []byte of a one-argument seed file ("go test fuzz v1").
func fuzzSeedBytes(file []byte) ([]byte, error) {
	_, lit, ok := strings.Cut(string(file), "[]byte(")
	if !ok {
		return nil, fmt.Errorf("not a []byte seed")
	}
	s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimSpace(lit), ")"))
	return []byte(s), err
}

// BenchmarkDecodeHEIC12MP: a 12-megapixel HEIC as a phone writes it (48 tiles of
// 512 × 512), decoded by libheif to NRGBA on this machine's cores.
func BenchmarkDecodeHEIC12MP(b *testing.B) {
	if err := LoadHEIF(); err != nil {
		b.Skip(err)
	}
	data, err := os.ReadFile(filepath.Join(heifDir, "phone-12mp.heic"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(4032 * 3024)
	for b.Loop() {
		if _, err := Decode(data); err != nil {
			b.Fatal(err)
		}
	}
}
