package fastpng

import (
	"bytes"
	"compress/flate"
	"hash/adler32"
	"image"
	"image/png"
	"math"
	"math/rand"
	"testing"

	"github.com/disintegration/imaging"
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
			// A transparent (all-zero) block, as a cut-out's background: Paeth's shortcut.
			for y := 0; y < sz[1]/2; y++ {
				clear(src.Pix[y*src.Stride : y*src.Stride+4*(sz[0]/2)])
			}
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

// cutout12MP is a 12 MP cut-out made from a real photo (a sample scaled up): outside an
// ellipse it is transparent (zero, as the compositor writes it), with a soft edge, as a
// background removal is.
func cutout12MP(b *testing.B) *image.NRGBA {
	src, err := imaging.Open("../../assets/samples/astronaut.png")
	if err != nil {
		b.Fatal(err)
	}
	img := imaging.Resize(src, 4000, 3000, imaging.Linear)
	for y := 0; y < 3000; y++ {
		for x := 0; x < 4000; x++ {
			dx, dy := float64(x-2000)/1500, float64(y-1500)/1300
			d := math.Sqrt(dx*dx + dy*dy) // < 1 inside
			p := img.Pix[img.PixOffset(x, y):][:4]
			switch {
			case d >= 1:
				copy(p, []byte{0, 0, 0, 0})
			case d > 0.98:
				p[3] = uint8(255 * (1 - d) / 0.02)
			}
		}
	}
	return img
}

// BenchmarkFastPNG12MP encodes a 12 MP cut-out at BestSpeed (Up filter, what Cutout writes by
// default) and at DefaultCompression (Paeth, --fast-png=false), reporting the file size.
func BenchmarkFastPNG12MP(b *testing.B) {
	img := cutout12MP(b)
	for _, c := range []struct {
		name  string
		level int
	}{{"fast", flate.BestSpeed}, {"small", flate.DefaultCompression}} {
		b.Run(c.name, func(b *testing.B) {
			var buf bytes.Buffer
			for b.Loop() {
				buf.Reset()
				if err := Encode(&buf, img, c.level); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(buf.Len())/1e6, "MB")
		})
	}
}

func BenchmarkStdPNG12MP(b *testing.B) {
	img := cutout12MP(b)
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

// BenchmarkFilter12MP is each row filter alone, on one core.
func BenchmarkFilter12MP(b *testing.B) {
	img := cutout12MP(b)
	w, h := img.Rect.Dx(), img.Rect.Dy()
	buf := make([]byte, 0, 1+4*w)
	for _, f := range []struct {
		name   string
		filter filterFunc
	}{{"up", appendUp}, {"paeth", appendPaeth}} {
		b.Run(f.name, func(b *testing.B) {
			b.SetBytes(int64(4 * w * h))
			for b.Loop() {
				for y := 0; y < h; y++ {
					var prev []byte
					if y > 0 {
						prev = img.Pix[(y-1)*img.Stride:][:4*w]
					}
					buf = f.filter(buf[:0], img.Pix[y*img.Stride:][:4*w], prev, 4)
				}
			}
		})
	}
}

// TestUpMatchesBytewise checks the eight-bytes-at-a-time Up filter against the definition.
func TestUpMatchesBytewise(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	for _, n := range []int{0, 1, 7, 8, 9, 64, 1001} {
		row, prev := make([]byte, n), make([]byte, n)
		r.Read(row)
		r.Read(prev)
		if n > 3 {
			row[0], prev[0], row[1], prev[1], row[2], prev[2] = 0, 255, 255, 0, 128, 128
		}
		got := appendUp(make([]byte, 0, n+1), row, prev, 4)
		if got[0] != 2 {
			t.Fatalf("filter type %d", got[0])
		}
		for i := range row {
			if want := row[i] - prev[i]; got[1+i] != want {
				t.Fatalf("n=%d: byte %d = %d, want %d", n, i, got[1+i], want)
			}
		}
	}
}
