package app

import (
	"bytes"
	"flag"
	"image"
	"image/draw"
	"os"
	"path/filepath"
	"testing"

	"github.com/gen2brain/webp"

	"cutout/internal/testenv"
	"cutout/ui"
)

// TestWindowExportEqualsRemove: the window's export of a photo (the backend's Cut of the file
// and its Export with the options) gives the same pixels as `cutout remove` with the same
// options, for a JPEG (composited from its Y′CbCr planes) and a PNG, with edge options,
// a background colour, the mask alone, and the window's formats and framings.
func TestWindowExportEqualsRemove(t *testing.T) {
	testenv.NeedEngine(t)
	b := testBackend(t)
	samples := filepath.Join(repoRoot(t), "assets", "samples")
	for _, tc := range []struct {
		flags []string
		f     ui.ExportFormat
	}{
		{[]string{"--refine", "guided", "--shift", "-2", "--feather", "3"}, ui.ExportFormat{}},
		{[]string{"--bgcolor", "#00ff00"}, ui.ExportFormat{}},
		{[]string{"--mask"}, ui.ExportFormat{}},
		{[]string{"--format", "webp", "--crop"}, ui.ExportFormat{Format: "webp", Frame: "crop"}},
		{[]string{"--format", "jpeg", "--crop", "--margin", "5%", "--canvas", "2000x2000"}, ui.ExportFormat{Format: "jpeg", Frame: "square"}},
	} {
		flags := tc.flags
		fs := flag.NewFlagSet("remove", flag.ContinueOnError)
		opts := matteFlags(fs)
		outputFlags(fs)
		if err := fs.Parse(flags); err != nil {
			t.Fatal(err)
		}
		o, err := opts()
		if err != nil {
			t.Fatal(err)
		}
		// One `cutout remove` of both photos per set of options (an engine start each).
		cliOut := t.TempDir()
		var stdout, stderr bytes.Buffer
		names := []string{"rocket.jpg", "coffee.png"}
		args := append([]string{"remove", filepath.Join(samples, names[0]), filepath.Join(samples, names[1]), "-o", cliOut, "--model", "isnet-general-q8"}, flags...)
		if code := Main(args, &stdout, &stderr); code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, code, stderr.String())
		}
		for _, name := range names {
			src := filepath.Join(samples, name)
			c, err := b.Cut(t.Context(), src, nil)
			if err != nil {
				t.Fatal(err)
			}
			bounds := c.Image.Bounds()
			path, err := b.Export(c.Image, c.Mask(bounds.Dx(), bounds.Dy()), nil, o, tc.f, t.TempDir(), name, false)
			if err != nil {
				t.Fatal(err)
			}
			want := pixels(decodeAny(t, filepath.Join(cliOut, filepath.Base(path))))
			got := pixels(decodeAny(t, path))
			if !bytes.Equal(got.Pix, want.Pix) || got.Rect != want.Rect {
				t.Errorf("%s %v: the window's export differs from cutout remove's", name, flags)
			}
		}
	}
}

// decodeAny decodes a PNG, JPEG or WebP output.
func decodeAny(t *testing.T, path string) image.Image {
	t.Helper()
	return decodeWith(t, path, func(f *os.File) (image.Image, error) {
		if filepath.Ext(path) == ".webp" {
			return webp.Decode(f)
		}
		img, _, err := image.Decode(f)
		return img, err
	})
}

// pixels is img as NRGBA, to compare whatever PNG type was written.
func pixels(img image.Image) *image.NRGBA {
	out := image.NewNRGBA(img.Bounds())
	draw.Draw(out, out.Rect, img, img.Bounds().Min, draw.Src)
	return out
}
