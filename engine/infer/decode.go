package infer

import (
	"bytes"
	"fmt"
	"image"
	"image/draw"
	_ "image/jpeg" // decoders for the formats validation admits
	_ "image/png"

	"github.com/disintegration/imaging"
	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/tiff"
	_ "golang.org/x/image/webp"
)

// Decode decodes image bytes (already validated: format sniffed, dimensions capped) into
// 8-bit non-premultiplied RGBA, with the EXIF orientation applied so that phone photos come
// out upright.
func Decode(data []byte) (*image.NRGBA, error) {
	img, err := imaging.Decode(bytes.NewReader(data), imaging.AutoOrientation(true))
	if err != nil {
		return nil, fmt.Errorf("the image could not be decoded: %w", err)
	}
	return toNRGBA(img), nil
}

// toNRGBA returns img as *image.NRGBA with its origin at (0,0), converting only if needed.
func toNRGBA(img image.Image) *image.NRGBA {
	if n, ok := img.(*image.NRGBA); ok && n.Rect.Min == (image.Point{}) {
		return n
	}
	if _, ok := img.(*image.YCbCr); ok {
		// imaging's parallel converter is the fast path for JPEG's YCbCr.
		return imaging.Clone(img)
	}
	b := img.Bounds()
	dst := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(dst, dst.Rect, img, b.Min, draw.Src)
	return dst
}
