package infer

import (
	"bytes"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"image/png"

	"github.com/disintegration/imaging"
	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"

	"cutout/engine/proto"
	"cutout/engine/validate"
	"cutout/engine/ycc"
)

// Decode decodes image bytes (already validated: format sniffed, dimensions capped) into
// 8-bit non-premultiplied RGBA, with the EXIF orientation applied so that phone photos come
// out upright.
func Decode(data []byte) (*image.NRGBA, error) {
	img, err := DecodeImage(data)
	if err != nil {
		return nil, err
	}
	return toNRGBA(img), nil
}

// DecodeImage is Decode that keeps a JPEG in its own Y′CbCr form (*image.YCbCr, 1.5 bytes a
// pixel for 4:2:0 where NRGBA takes 4): Preprocess reads it directly and the app converts it
// to NRGBA itself, so the engine never holds the photo as NRGBA. Other images come back as
// *image.NRGBA. Either way the origin is (0,0).
func DecodeImage(data []byte) (image.Image, error) {
	img, err := decodeSniffed(data)
	if err != nil {
		return nil, fmt.Errorf("the image could not be decoded: %w", err)
	}
	o := exifOrientation(data)
	if y, ok := img.(*image.YCbCr); ok && usableYCbCr(y) {
		if up, ok := orientYCbCr(y, o); ok {
			return up, nil
		}
	}
	return orientNRGBA(toNRGBA(img), o), nil
}

// decodeSniffed decodes data with the decoder of the format validate.Sniff
// finds, the one whose DecodeConfig validation ran. It never goes through
// image.Decode's registry, where the first package to register a format
// wins: in the app's binary that is github.com/jsummers/gobmp (pulled in by
// Fyne), which decodes BMPs that golang.org/x/image/bmp refuses (RLE, palette
// indices out of range), so validation and decoding would judge different
// decoders.
func decodeSniffed(data []byte) (image.Image, error) {
	format, err := validate.Sniff(data)
	if err != nil {
		return nil, err
	}
	r := bytes.NewReader(data)
	switch format {
	case validate.PNG:
		return png.Decode(r)
	case validate.JPEG:
		return jpeg.Decode(r)
	case validate.BMP:
		return bmp.Decode(r)
	case validate.TIFF:
		return tiff.Decode(r)
	case validate.WebP:
		return webp.Decode(r)
	case validate.HEIF, validate.AVIF:
		// libheif reads both (HEVC through libde265, AV1 through dav1d or libaom), and
		// turns the image upright itself: HEIF's irot and imir, not EXIF, say how.
		return decodeHEIF(data)
	}
	return nil, fmt.Errorf("no decoder for %q", format)
}

// chroma is the size of y's chroma planes (false for a ratio this package does not know).
func chroma(y *image.YCbCr) (cw, ch int, ok bool) {
	return proto.ChromaSize(y.Rect.Dx(), y.Rect.Dy(), y.SubsampleRatio)
}

// usableYCbCr says whether y can be read and carried as it is: origin at (0,0) and one of
// image's six subsampling ratios. Anything else is converted to NRGBA first.
func usableYCbCr(y *image.YCbCr) bool { return ycc.Usable(y) }

// YCbCrPlanes gives y's planes without the decoder's padding, as the protocol carries them:
// Y (w·h), then Cb and Cr (each as proto.ChromaSize gives). When the decoder's rows are
// already tight (widths that are a multiple of the JPEG block), the planes are y's own.
func YCbCrPlanes(y *image.YCbCr) [][]byte {
	w, h := y.Rect.Dx(), y.Rect.Dy()
	cw, ch, _ := chroma(y)
	if y.YStride == w && y.CStride == cw {
		return [][]byte{y.Y[: w*h : w*h], y.Cb[: cw*ch : cw*ch], y.Cr[: cw*ch : cw*ch]}
	}
	lum, cb, cr := make([]byte, w*h), make([]byte, cw*ch), make([]byte, cw*ch)
	for r := 0; r < h; r++ {
		copy(lum[r*w:(r+1)*w], y.Y[r*y.YStride:r*y.YStride+w])
	}
	for r := 0; r < ch; r++ {
		copy(cb[r*cw:(r+1)*cw], y.Cb[r*y.CStride:r*y.CStride+cw])
		copy(cr[r*cw:(r+1)*cw], y.Cr[r*y.CStride:r*y.CStride+cw])
	}
	return [][]byte{lum, cb, cr}
}

// UnpackYCbCr is the inverse of YCbCrPlanes: an image over pix, the planes joined (not
// copied). pix must hold proto.PixBytes bytes for the ratio (the protocol checks that).
func UnpackYCbCr(pix []byte, w, h int, r image.YCbCrSubsampleRatio) *image.YCbCr {
	cw, ch, _ := proto.ChromaSize(w, h, r)
	n, c := w*h, cw*ch
	return &image.YCbCr{Y: pix[:n:n], Cb: pix[n : n+c : n+c], Cr: pix[n+c : n+2*c : n+2*c],
		YStride: w, CStride: cw, SubsampleRatio: r, Rect: image.Rect(0, 0, w, h)}
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
