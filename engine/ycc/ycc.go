// Package ycc converts a JPEG's Y′CbCr pixels to 8-bit RGBA: the engine keeps JPEGs in the
// form their decoder gives (1.5 bytes a pixel for 4:2:0, where NRGBA takes 4), and the app and
// the window convert only what they show or write. The conversion is exactly image/color's
// (JFIF's full-range equations in the same 16.16 fixed point), with the chroma indexed
// directly instead of through image.YCbCr.COffset, which makes it about 1.5× faster than
// imaging.Clone.
package ycc

import (
	"image"
	"image/draw"

	"cutout/internal/parallel"
)

// Usable says whether m can be read directly: origin at (0,0) and one of image's six
// subsampling ratios (what a JPEG decoder gives, and what the engine protocol carries).
func Usable(m *image.YCbCr) bool {
	return m.Rect.Min == (image.Point{}) &&
		m.SubsampleRatio >= image.YCbCrSubsampleRatio444 && m.SubsampleRatio <= image.YCbCrSubsampleRatio410
}

// shifts gives how far a luma x shifts right to index its chroma column, and whether the
// chroma rows are halved.
func shifts(r image.YCbCrSubsampleRatio) (hs int, halfRows bool) {
	switch r {
	case image.YCbCrSubsampleRatio422:
		return 1, false
	case image.YCbCrSubsampleRatio420:
		return 1, true
	case image.YCbCrSubsampleRatio440:
		return 0, true
	case image.YCbCrSubsampleRatio411:
		return 2, false
	case image.YCbCrSubsampleRatio410:
		return 2, true
	}
	return 0, false
}

// Span converts pixels [x0, x1) of row y of m (Usable) into dst[4·x0 : 4·x1] as RGBA with
// alpha 255; dst is the whole row's buffer (4·width bytes), and nothing else of it is written.
// R = Y + 1.402 (Cr−128), G = Y − 0.34414 (Cb−128) − 0.71414 (Cr−128), B = Y + 1.772 (Cb−128).
func Span(m *image.YCbCr, y, x0, x1 int, dst []uint8) {
	w := m.Rect.Dx()
	lum := m.Y[y*m.YStride : y*m.YStride+w]
	dst = dst[:4*w]
	hs, half := shifts(m.SubsampleRatio)
	cy := y
	if half {
		cy = y / 2
	}
	cw := (w + 1<<hs - 1) >> hs
	cb := m.Cb[cy*m.CStride : cy*m.CStride+cw]
	cr := m.Cr[cy*m.CStride : cy*m.CStride+cw]
	for x := x0; x < x1; x++ {
		y1 := int32(lum[x]) * 0x10101
		b1, r1 := int32(cb[x>>hs])-128, int32(cr[x>>hs])-128
		p := dst[4*x : 4*x+4 : 4*x+4]
		p[0] = clamp16(y1 + 91881*r1)
		p[1] = clamp16(y1 - 22554*b1 - 46802*r1)
		p[2] = clamp16(y1 + 116130*b1)
		p[3] = 0xff
	}
}

// Rows is Span as a function of m (Usable), the form matte.FinishedRows reads an image in.
func Rows(m *image.YCbCr) func(y, x0, x1 int, dst []uint8) {
	if !Usable(m) {
		panic("ycc.Rows: origin not at (0,0) or an unknown subsampling ratio")
	}
	return func(y, x0, x1 int, dst []uint8) { Span(m, y, x0, x1, dst) }
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

// ToNRGBA converts m to an NRGBA image with its origin at (0,0), rows in parallel.
func ToNRGBA(m *image.YCbCr) *image.NRGBA {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	out := image.NewNRGBA(image.Rect(0, 0, w, h))
	if !Usable(m) {
		draw.Draw(out, out.Rect, m, m.Rect.Min, draw.Src)
		return out
	}
	parallel.For(h, func(lo, hi int) {
		for y := lo; y < hi; y++ {
			Span(m, y, 0, w, out.Pix[y*out.Stride:(y+1)*out.Stride])
		}
	})
	return out
}

// Blocks reduces m (Usable) by averaging its k×k blocks (the last in a row or column may be
// narrower) into an NRGBA image of ⌈w/k⌉ × ⌈h/k⌉, rows of blocks in parallel. It averages
// Y′, Cb and Cr and converts each mean once, where converting every pixel and averaging the
// colours costs 2–3 × as much: the two agree to within a level wherever no pixel of the block
// is out of the RGB gamut (the conversion is affine but for its clamping), and a block of one
// colour gives exactly what image/color does.
func Blocks(m *image.YCbCr, k int) *image.NRGBA {
	if !Usable(m) || k < 1 {
		panic("ycc.Blocks: origin not at (0,0), an unknown subsampling ratio or k < 1")
	}
	w, h := m.Rect.Dx(), m.Rect.Dy()
	bw, bh := (w+k-1)/k, (h+k-1)/k
	out := image.NewNRGBA(image.Rect(0, 0, bw, bh))
	hs, half := shifts(m.SubsampleRatio)
	cw := (w + 1<<hs - 1) >> hs
	parallel.Workers(bh, func() func(lo, hi int) {
		sy, sb, sr := make([]uint32, bw), make([]uint32, bw), make([]uint32, bw)
		return func(lo, hi int) {
			for by := lo; by < hi; by++ {
				clear(sy)
				clear(sb)
				clear(sr)
				y0, y1 := by*k, min((by+1)*k, h)
				for y := y0; y < y1; y++ {
					cy := y
					if half {
						cy = y / 2
					}
					lum := m.Y[y*m.YStride : y*m.YStride+w]
					cb := m.Cb[cy*m.CStride : cy*m.CStride+cw]
					cr := m.Cr[cy*m.CStride : cy*m.CStride+cw]
					for bx := range bw {
						var s uint32
						for _, v := range lum[bx*k : min((bx+1)*k, w)] {
							s += uint32(v)
						}
						sy[bx] += s
					}
					if step := k >> hs; step<<hs == k {
						// Whole chroma samples per block: each stands for 1<<hs pixels, but
						// the last, which may stand for fewer.
						for bx := range bw {
							var b, r uint32
							c1 := min((bx+1)*step, cw)
							for c := bx * step; c < c1; c++ {
								b += uint32(cb[c])
								r += uint32(cr[c])
							}
							sb[bx] += b << hs
							sr[bx] += r << hs
						}
						if missing := uint32((cw << hs) - w); missing > 0 {
							sb[bw-1] -= missing * uint32(cb[cw-1])
							sr[bw-1] -= missing * uint32(cr[cw-1])
						}
						continue
					}
					bx, n := 0, 0
					for x := range w {
						sb[bx] += uint32(cb[x>>hs])
						sr[bx] += uint32(cr[x>>hs])
						if n++; n == k {
							n = 0
							bx++
						}
					}
				}
				row := out.Pix[by*out.Stride : by*out.Stride+4*bw]
				for bx := range bw {
					n := float64((min((bx+1)*k, w) - bx*k) * (y1 - y0))
					// image/color's fixed point, on the means: Y′ scaled by 0x10101/2¹⁶.
					yv := float64(sy[bx]) / n * (0x10101 / 65536.0)
					b1, r1 := float64(sb[bx])/n-128, float64(sr[bx])/n-128
					px := row[4*bx : 4*bx+4 : 4*bx+4]
					px[0] = clampFloor(yv + 91881.0/65536*r1)
					px[1] = clampFloor(yv - 22554.0/65536*b1 - 46802.0/65536*r1)
					px[2] = clampFloor(yv + 116130.0/65536*b1)
					px[3] = 0xff
				}
			}
		}
	})
	return out
}

// clampFloor is ⌊v⌋ clamped to 0…255, as clamp16 rounds the fixed point.
func clampFloor(v float64) uint8 {
	switch {
	case v < 0:
		return 0
	case v >= 255:
		return 255
	}
	return uint8(v)
}
