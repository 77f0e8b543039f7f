package infer

import (
	"image"

	"cutout/engine/models"
	"cutout/internal/parallel"
)

// Preprocess resizes img's colours to the model's square input (antialiased, see resizeRGB)
// and writes them, normalised as the model was trained ((x/scale − mean) / std per channel),
// into dst as NCHW float32. dst must hold 3·S·S values. img is read in place when it is an
// *image.NRGBA or an *image.YCbCr with its origin at (0,0), and converted otherwise. A
// Y′CbCr image is resized in Y′CbCr and converted at S×S (resizeYCbCr): within a level of
// its NRGBA conversion's input where no pixel's colour is out of gamut.
func Preprocess(img image.Image, m *models.Model, dst []float32) {
	s := m.InputSize
	plane := s * s
	if y, ok := img.(*image.YCbCr); ok && usableYCbCr(y) {
		resizeYCbCr(y, s, dst[:3*plane])
	} else {
		resizeRGB(toNRGBA(img), s, dst[:3*plane])
	}
	scale := float32(255)
	if m.Scale == models.ScaleMax {
		// rembg divides by the largest value of the resized image.
		scale = 1
		for _, v := range dst[:3*plane] {
			scale = max(scale, v)
		}
	}
	parallel.For(3*s, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			c := r / s
			// (x/scale − mean)/std  ==  x·mul + add
			mul, add := 1/(scale*m.Std[c]), -m.Mean[c]/m.Std[c]
			row := dst[r*s : (r+1)*s]
			for i, v := range row {
				row[i] = v*mul + add
			}
		}
	})
}
