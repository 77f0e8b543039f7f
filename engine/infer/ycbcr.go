package infer

import (
	"image"

	"cutout/engine/ycc"
)

// ToNRGBA converts a Y′CbCr image to NRGBA with its origin at (0,0): ycc's conversion, which is
// exactly image/color's, for the images DecodeImage returns, imaging's for any other.
func ToNRGBA(m *image.YCbCr) *image.NRGBA {
	if !usableYCbCr(m) {
		return toNRGBA(m)
	}
	return ycc.ToNRGBA(m)
}
