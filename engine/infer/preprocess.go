package infer

import (
	"image"

	"github.com/disintegration/imaging"

	"cutout/engine/models"
)

// Preprocess resizes img to the model's square input with an antialiasing linear filter and
// writes it, normalised as the model was trained ((x/scale − mean) / std per channel), into
// dst as NCHW float32. dst must hold 3·S·S values.
func Preprocess(img *image.NRGBA, m *models.Model, dst []float32) {
	s := m.InputSize
	small := img
	if img.Rect.Dx() != s || img.Rect.Dy() != s {
		small = imaging.Resize(img, s, s, imaging.Linear)
	}
	scale := float32(255)
	if m.Scale == models.ScaleMax {
		scale = float32(maxChannel(small))
		if scale < 1 {
			scale = 1
		}
	}
	plane := s * s
	var mul, add [3]float32
	for c := 0; c < 3; c++ {
		// (x/scale − mean)/std  ==  x·mul + add
		mul[c] = 1 / (scale * m.Std[c])
		add[c] = -m.Mean[c] / m.Std[c]
	}
	rows(s, func(lo, hi int) {
		for y := lo; y < hi; y++ {
			src := small.Pix[y*small.Stride : y*small.Stride+4*s]
			o := y * s
			for x := 0; x < s; x++ {
				p := src[4*x : 4*x+3 : 4*x+3]
				dst[o+x] = float32(p[0])*mul[0] + add[0]
				dst[plane+o+x] = float32(p[1])*mul[1] + add[1]
				dst[2*plane+o+x] = float32(p[2])*mul[2] + add[2]
			}
		}
	})
}

func maxChannel(img *image.NRGBA) uint8 {
	var m uint8
	w := img.Rect.Dx()
	for y := 0; y < img.Rect.Dy(); y++ {
		row := img.Pix[y*img.Stride : y*img.Stride+4*w]
		for i := 0; i < len(row); i += 4 {
			m = max(m, row[i], row[i+1], row[i+2])
		}
	}
	return m
}
