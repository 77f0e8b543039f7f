package validate

import (
	"path/filepath"
	"sync"
	"testing"
)

// photoJPEG is a 12-megapixel (4000 × 3000) JPEG, like a phone photo.
var photoJPEG = sync.OnceValue(func() []byte { return encodeJPEG(4000, 3000) })

func BenchmarkSniff(b *testing.B) {
	head := validJPEG()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Sniff(head); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBytes(b *testing.B) {
	for _, c := range []struct {
		name string
		data func() []byte
	}{
		{"png", validPNG}, {"jpeg", validJPEG}, {"bmp", validBMP}, {"tiff", validTIFF},
		{"webp", webpLossless}, {"jpeg-12MP", photoJPEG},
	} {
		b.Run(c.name, func(b *testing.B) {
			data := c.data()
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Bytes("x", data, Limits{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFile is the whole main-process cost of admitting a phone photo:
// open, read 12 MP worth of JPEG, walk its markers, read its header.
func BenchmarkFile(b *testing.B) {
	path := filepath.Join(b.TempDir(), "photo.jpg")
	writeFile(b, path, photoJPEG())
	b.SetBytes(int64(len(photoJPEG())))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := File(path, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}
