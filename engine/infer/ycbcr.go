package infer

import "image"

// ycbcrRow converts row y of m (origin at (0,0), one of image's six subsampling ratios) to
// 8-bit RGBA in dst (4·width bytes, alpha 255), with JFIF's full-range equations in the same
// 16.16 fixed point as image/color, so the result is exactly color.YCbCrToRGB's, but with the
// chroma indexed directly instead of through COffset:
// R = Y + 1.402 (Cr−128), G = Y − 0.34414 (Cb−128) − 0.71414 (Cr−128), B = Y + 1.772 (Cb−128).
func ycbcrRow(m *image.YCbCr, y int, dst []uint8) {
	ycbcrSpan(m, y, 0, m.Rect.Dx(), dst)
}

// ycbcrSpan is ycbcrRow for pixels [x0, x1) of the row only, written to dst[4·x0 : 4·x1].
func ycbcrSpan(m *image.YCbCr, y, x0, x1 int, dst []uint8) {
	w := m.Rect.Dx()
	lum := m.Y[y*m.YStride : y*m.YStride+w]
	dst = dst[:4*w]
	cy, shift := y, 0 // chroma row, and how far x shifts to its chroma column
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio422:
		shift = 1
	case image.YCbCrSubsampleRatio420:
		cy, shift = y/2, 1
	case image.YCbCrSubsampleRatio440:
		cy = y / 2
	case image.YCbCrSubsampleRatio411:
		shift = 2
	case image.YCbCrSubsampleRatio410:
		cy, shift = y/2, 2
	}
	cw := (w + 1<<shift - 1) >> shift
	cb := m.Cb[cy*m.CStride : cy*m.CStride+cw]
	cr := m.Cr[cy*m.CStride : cy*m.CStride+cw]
	for x := x0; x < x1; x++ {
		y1 := int32(lum[x]) * 0x10101
		b1, r1 := int32(cb[x>>shift])-128, int32(cr[x>>shift])-128
		p := dst[4*x : 4*x+4 : 4*x+4]
		p[0] = clamp16(y1 + 91881*r1)
		p[1] = clamp16(y1 - 22554*b1 - 46802*r1)
		p[2] = clamp16(y1 + 116130*b1)
		p[3] = 0xff
	}
}

// YCbCrRows reads m row by row as 8-bit RGBA, converted as ToNRGBA converts (for
// matte.FinishRows: a JPEG is composited straight from its planes). m must be as
// DecodeImage or UnpackYCbCr return it (origin at (0,0), one of the six ratios).
func YCbCrRows(m *image.YCbCr) func(y, x0, x1 int, dst []uint8) {
	if !usableYCbCr(m) {
		panic("infer.YCbCrRows: an image DecodeImage would not return")
	}
	return func(y, x0, x1 int, dst []uint8) { ycbcrSpan(m, y, x0, x1, dst) }
}

func clamp16(v int32) uint8 {
	v >>= 16
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// ToNRGBA converts a Y′CbCr image to NRGBA, rows in parallel.
func ToNRGBA(m *image.YCbCr) *image.NRGBA {
	if !usableYCbCr(m) {
		return toNRGBA(m)
	}
	w, h := m.Rect.Dx(), m.Rect.Dy()
	out := image.NewNRGBA(image.Rect(0, 0, w, h))
	rows(h, func(lo, hi int) {
		for y := lo; y < hi; y++ {
			ycbcrRow(m, y, out.Pix[y*out.Stride:(y+1)*out.Stride])
		}
	})
	return out
}
