package infer

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"

	"github.com/disintegration/imaging"

	"cutout/engine/proto"
)

// TestYCbCrPathMatchesNRGBA: a JPEG's Y′CbCr planes, carried as the protocol carries them and
// converted in the app, give exactly the NRGBA image the engine used to send — for the sample
// photo (tight rows) and for odd sizes, where the decoder pads its rows. (The model input made
// from Y′CbCr is compared with the NRGBA one in preprocess_ycbcr_test.go.)
func TestYCbCrPathMatchesNRGBA(t *testing.T) {
	rocket, err := os.ReadFile(filepath.Join(repoRoot(t), "assets", "samples", "rocket.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	src, err := imaging.Decode(bytes.NewReader(rocket))
	if err != nil {
		t.Fatal(err)
	}
	inputs := map[string][]byte{"rocket.jpg": rocket}
	for _, size := range [][2]int{{333, 201}, {17, 9}, {1, 1}} {
		var b bytes.Buffer
		if err := jpeg.Encode(&b, imaging.Resize(src, size[0], size[1], imaging.Linear), &jpeg.Options{Quality: 85}); err != nil {
			t.Fatal(err)
		}
		inputs[fmt.Sprintf("%d×%d JPEG", size[0], size[1])] = b.Bytes()
	}
	for name, data := range inputs {
		img, err := DecodeImage(data)
		if err != nil {
			t.Fatal(name, err)
		}
		ycc, ok := img.(*image.YCbCr)
		if !ok {
			t.Fatalf("%s: DecodeImage gave %T, want *image.YCbCr", name, img)
		}
		want, err := Decode(data)
		if err != nil {
			t.Fatal(name, err)
		}
		var joined []byte
		for _, p := range YCbCrPlanes(ycc) {
			joined = append(joined, p...)
		}
		w, h := ycc.Rect.Dx(), ycc.Rect.Dy()
		if n, _ := proto.PixBytes(uint32(w), uint32(h), proto.FormatYCbCr+uint8(ycc.SubsampleRatio)); uint64(len(joined)) != n {
			t.Fatalf("%s: planes hold %d bytes, the protocol expects %d", name, len(joined), n)
		}
		got := imaging.Clone(UnpackYCbCr(joined, w, h, ycc.SubsampleRatio))
		if !bytes.Equal(got.Pix, want.Pix) {
			t.Fatalf("%s: the app's conversion of the carried planes differs from the engine's NRGBA", name)
		}
	}
}
