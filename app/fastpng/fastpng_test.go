package fastpng

import (
	"bytes"
	"compress/flate"
	"hash/adler32"
	"image"
	"image/png"
	"math/rand"
	"testing"
)

func photoLike(w, h int, r *rand.Rand) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := img.PixOffset(x, y)
			img.Pix[i] = uint8(x + y)
			img.Pix[i+1] = uint8(x*y>>4) + uint8(r.Intn(4))
			img.Pix[i+2] = uint8(r.Intn(256))
			img.Pix[i+3] = uint8(255 - y%256)
		}
	}
	return img
}

// TestRoundTrip: what fastpng writes, the standard decoder reads back exactly, for sizes that
// hit every strip boundary case (one row, one strip, a partial last strip, many strips).
func TestRoundTrip(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for _, sz := range [][2]int{{1, 1}, {3, 1}, {1, 300}, {17, 128}, {50, 129}, {200, 513}} {
		for _, level := range []int{flate.BestSpeed, flate.DefaultCompression} {
			src := photoLike(sz[0], sz[1], r)
			gray := image.NewGray(src.Rect)
			for i := range gray.Pix {
				gray.Pix[i] = src.Pix[4*i+1]
			}
			for _, img := range []image.Image{src, gray, src.SubImage(image.Rect(1%sz[0], 0, sz[0], sz[1]))} {
				var buf bytes.Buffer
				if err := Encode(&buf, img, level); err != nil {
					t.Fatal(err)
				}
				got, err := png.Decode(&buf)
				if err != nil {
					t.Fatalf("%v level %d %T: %v", sz, level, img, err)
				}
				if got.Bounds().Size() != img.Bounds().Size() {
					t.Fatalf("size %v, want %v", got.Bounds(), img.Bounds())
				}
				b := img.Bounds()
				for y := b.Min.Y; y < b.Max.Y; y++ {
					for x := b.Min.X; x < b.Max.X; x++ {
						if got.At(x-b.Min.X, y-b.Min.Y) != img.At(x, y) {
							t.Fatalf("%v %T: pixel (%d,%d) = %v, want %v", sz, img, x, y, got.At(x-b.Min.X, y-b.Min.Y), img.At(x, y))
						}
					}
				}
			}
		}
	}
}

func TestAdler32Combine(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	for _, n := range [][2]int{{0, 0}, {1, 0}, {0, 5}, {100, 70000}, {65521, 65521}, {3, 200000}} {
		a, b := make([]byte, n[0]), make([]byte, n[1])
		r.Read(a)
		r.Read(b)
		want := adler32.Checksum(append(append([]byte{}, a...), b...))
		if got := adler32Combine(adler32.Checksum(a), adler32.Checksum(b), len(b)); got != want {
			t.Errorf("%v: %08x, want %08x", n, got, want)
		}
	}
}

func TestRefusesOtherTypes(t *testing.T) {
	if err := Encode(&bytes.Buffer{}, image.NewRGBA(image.Rect(0, 0, 2, 2)), flate.BestSpeed); err == nil {
		t.Fatal("RGBA accepted")
	}
}

// cutout12MP is a 12 MP photo-like cut-out: a third transparent, as a background removal is.
func cutout12MP() *image.NRGBA {
	img := photoLike(4000, 3000, rand.New(rand.NewSource(3)))
	for y := 0; y < 3000; y++ {
		for x := 0; x < 1300; x++ {
			copy(img.Pix[img.PixOffset(x, y):], []byte{0, 0, 0, 0})
		}
	}
	return img
}

func BenchmarkFastPNG12MP(b *testing.B) {
	img := cutout12MP()
	var buf bytes.Buffer
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		buf.Reset()
		if err := Encode(&buf, img, flate.BestSpeed); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len())/1e6, "MB")
}

func BenchmarkStdPNG12MP(b *testing.B) {
	img := cutout12MP()
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		buf.Reset()
		if err := enc.Encode(&buf, img); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len())/1e6, "MB")
}
