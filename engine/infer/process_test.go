package infer

import (
	"bytes"
	"image"
	"image/jpeg"
	"math"
	"slices"
	"testing"

	"github.com/disintegration/imaging"

	"cutout/engine/models"
)

func testModel(side int, scale models.Scale) *models.Model {
	return &models.Model{Name: "t", InputSize: side, Scale: scale,
		Mean: [3]float32{0.5, 0.25, 0}, Std: [3]float32{0.5, 0.25, 1}}
}

// TestPreprocessNormalisesNCHW checks the layout and the arithmetic on a flat 2×2 image.
func TestPreprocessNormalisesNCHW(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 2, 2))
	for i := 0; i < 4; i++ {
		copy(img.Pix[4*i:], []uint8{255, 51, 0, 255})
	}
	dst := make([]float32, 12)
	Preprocess(img, testModel(2, models.Scale255), dst)
	want := []float32{(1 - 0.5) / 0.5, (0.2 - 0.25) / 0.25, 0}
	for c := 0; c < 3; c++ {
		for i := 0; i < 4; i++ {
			if got := dst[c*4+i]; math.Abs(float64(got-want[c])) > 1e-5 {
				t.Fatalf("channel %d pixel %d = %v, want %v", c, i, got, want[c])
			}
		}
	}
	// rembg's "max" scale divides by the image's largest value (here 51 once red is 0).
	for i := 0; i < 4; i++ {
		copy(img.Pix[4*i:], []uint8{0, 51, 0, 255})
	}
	Preprocess(img, testModel(2, models.ScaleMax), dst)
	if got := dst[4]; math.Abs(float64(got-(1-0.25)/0.25)) > 1e-5 {
		t.Fatalf("max scale: green = %v, want 3", got)
	}
}

// TestPreprocessResizes: an 8×8 image whose left half is white averages to a 2×2 input whose
// left column is white.
func TestPreprocessResizes(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 8, 8))
	for y := 0; y < 8; y++ {
		for x := 0; x < 8; x++ {
			v := uint8(0)
			if x < 4 {
				v = 255
			}
			copy(img.Pix[y*img.Stride+4*x:], []uint8{v, v, v, 255})
		}
	}
	m := &models.Model{InputSize: 2, Scale: models.Scale255, Std: [3]float32{1, 1, 1}}
	dst := make([]float32, 12)
	Preprocess(img, m, dst)
	if dst[0] < 0.8 || dst[1] > 0.2 || dst[0]+dst[1] < 0.98 || dst[0]+dst[1] > 1.02 {
		t.Fatalf("resized row = %v, want about [1 0], summing to 1", dst[:2])
	}
}

// TestMaskMinMaxAndResize: a prediction in [0.2, 0.6] is stretched to 0..255 and resized.
func TestMaskMinMaxAndResize(t *testing.T) {
	pred := []float32{0.2, 0.6, 0.2, 0.6}
	m := Mask(pred, 2, 4, 2)
	if m.Rect.Dx() != 4 || m.Rect.Dy() != 2 {
		t.Fatalf("size %v", m.Rect)
	}
	row := m.Pix[:4]
	if row[0] != 0 || row[3] != 255 || !(row[1] < row[2]) {
		t.Fatalf("row %v: want 0 … 255 rising", row)
	}
	// A flat prediction has no range: the mask is all zero, not NaN garbage.
	flat := Mask([]float32{0.5, 0.5, 0.5, 0.5}, 2, 3, 3)
	for _, v := range flat.Pix {
		if v != 0 {
			t.Fatalf("flat prediction gave %v", flat.Pix)
		}
	}
}

func BenchmarkPreprocess12MP(b *testing.B) {
	img := image.NewNRGBA(image.Rect(0, 0, 4000, 3000))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	m := testModel(1024, models.Scale255)
	dst := make([]float32, 3*1024*1024)
	b.Run("nrgba", func(b *testing.B) {
		for b.Loop() {
			Preprocess(img, m, dst)
		}
	})
	// As the engine has a JPEG: Y′CbCr, its planes reduced and converted at 1024² (4:2:0 as
	// most cameras write, 4:4:4 as rocket.jpg is).
	for _, c := range []struct {
		name  string
		ratio image.YCbCrSubsampleRatio
	}{{"ycbcr420", image.YCbCrSubsampleRatio420}, {"ycbcr444", image.YCbCrSubsampleRatio444}} {
		ycc := image.NewYCbCr(img.Rect, c.ratio)
		for i := range ycc.Y {
			ycc.Y[i] = uint8(i * 7)
		}
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				Preprocess(ycc, m, dst)
			}
		})
	}
}

func BenchmarkMask12MP(b *testing.B) {
	pred := make([]float32, 1024*1024)
	for i := range pred {
		pred[i] = float32(i%1024) / 1024
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Mask(pred, 1024, 4000, 3000)
	}
}

func BenchmarkInference(b *testing.B) {
	e := realEngine(b)
	n := e.Session.Side() * e.Session.Side()
	in, out := make([]float32, 3*n), make([]float32, n)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := e.Session.Run(in, out); err != nil {
			b.Fatal(err)
		}
	}
}

// TestResizeGeometry: a 4000×3001 image whose left half is white reduces to a 1024² input
// whose left half is white, with the edge centred between columns 511 and 512 (no shift).
func TestResizeGeometry(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 4000, 3001)) // odd height: a partial last box
	for y := 0; y < 3001; y++ {
		for x := 0; x < 4000; x++ {
			v := uint8(0)
			if x < 2000 {
				v = 255
			}
			copy(img.Pix[img.PixOffset(x, y):], []uint8{v, v, v, 255})
		}
	}
	dst := make([]float32, 3*1024*1024)
	resizeRGB(img, 1024, dst)
	row := dst[500*1024 : 501*1024]
	near := func(v, want float32) bool { return math.Abs(float64(v-want)) < 0.01 }
	if !near(row[0], 255) || !near(row[1023], 0) || !near(row[400], 255) || !near(row[600], 0) {
		t.Fatalf("row ends %v %v %v %v", row[0], row[400], row[600], row[1023])
	}
	// The box stage samples the edge at box centres: a few levels of asymmetry remain, where
	// a shift of half an output pixel would be about 60.
	if sum := row[511] + row[512]; math.Abs(float64(sum)-255) > 8 {
		t.Fatalf("edge columns %v + %v = %v, want 255 (edge centred)", row[511], row[512], sum)
	}
}

// BenchmarkDecode12MP: a 12 MP JPEG decoded as the engine keeps it (Y′CbCr) and converted
// to NRGBA as well (what the app does with it, and what the engine did before).
func BenchmarkDecode12MP(b *testing.B) {
	img := image.NewNRGBA(image.Rect(0, 0, 4000, 3000))
	for y := 0; y < 3000; y++ {
		for x := 0; x < 4000; x++ {
			copy(img.Pix[img.PixOffset(x, y):], []uint8{uint8(x / 16), uint8(y / 12), uint8((x + y) / 28), 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.Run("ycbcr", func(b *testing.B) {
		for b.Loop() {
			if _, err := DecodeImage(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("nrgba", func(b *testing.B) {
		for b.Loop() {
			if _, err := Decode(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	// A phone photo taken upright: stored sideways, EXIF orientation 6. Its planes are turned
	// (ycbcr-turned); imaging turns the converted NRGBA image (nrgba-turned, as before).
	turned := withOrientation(b, img, 6)
	b.Run("ycbcr-turned", func(b *testing.B) {
		for b.Loop() {
			if _, err := DecodeImage(turned); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("nrgba-turned", func(b *testing.B) {
		for b.Loop() {
			if _, err := imaging.Decode(bytes.NewReader(turned), imaging.AutoOrientation(true)); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The app's half: the engine's Y′CbCr to NRGBA.
	img2, _ := DecodeImage(data)
	ycc := img2.(*image.YCbCr)
	b.Run("to-nrgba", func(b *testing.B) {
		for b.Loop() {
			ToNRGBA(ycc)
		}
	})
}

// maskReference is Mask computed pixel by pixel, as it was before its rows were cached.
func maskReference(pred []float32, side, w, h int) *image.Gray {
	lo, hi := slices.Min(pred), slices.Max(pred)
	k := float32(0)
	if hi > lo {
		k = 255 / (hi - lo)
	}
	at := func(r, c int32) float32 { return (pred[int(r)*side+int(c)] - lo) * k }
	dst := image.NewGray(image.Rect(0, 0, w, h))
	sx, sy := float32(side)/float32(w), float32(side)/float32(h)
	for y := range h {
		r0, r1, fy := tap((float32(y)+0.5)*sy-0.5, side)
		for x := range w {
			c0, c1, fx := tap((float32(x)+0.5)*sx-0.5, side)
			top := at(r0, c0) + (at(r0, c1)-at(r0, c0))*fx
			bot := at(r1, c0) + (at(r1, c1)-at(r1, c0))*fx
			dst.Pix[y*dst.Stride+x] = uint8(top + (bot-top)*fy + 0.5)
		}
	}
	return dst
}

// TestMaskMatchesReference: every size, up or down, wider or taller than the prediction,
// gives exactly the pixel-by-pixel bilinear mask.
func TestMaskMatchesReference(t *testing.T) {
	side := 37
	pred := make([]float32, side*side)
	seed := uint32(1)
	for i := range pred {
		seed = seed*1664525 + 1013904223
		pred[i] = float32(seed>>8) / (1 << 24) * 3
	}
	for _, size := range [][2]int{{37, 37}, {1, 1}, {100, 3}, {5, 90}, {20, 20}, {301, 211}, {36, 38}} {
		got, want := Mask(pred, side, size[0], size[1]), maskReference(pred, side, size[0], size[1])
		if !bytes.Equal(got.Pix, want.Pix) {
			t.Fatalf("%v: the mask differs from the pixel-by-pixel one", size)
		}
	}
}
