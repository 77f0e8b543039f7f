package infer

import (
	"fmt"
	"image"
	"math"
)

// resizeRGB resamples img's colour channels (alpha is ignored, as rembg and the peer do) to
// s×s float32 planes in 0..255, antialiased: an integer box reduction first (cheap, exact
// area averaging) while the image is at least twice the target, then a separable triangle
// filter whose support widens with the remaining scale. Geometry is exact: pixel centres
// map to pixel centres. The three planes go to dst (3·s·s).
func resizeRGB(img image.Image, s int, dst []float32) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	rowOf := rgbaRows(img)
	kx, ky := max(1, w/s), max(1, h/s)
	bw, bh := (w+kx-1)/kx, (h+ky-1)/ky // the last box in a row or column may be narrower
	xw := triangleWeights(w, kx, s)
	yw := triangleWeights(h, ky, s)
	// Each row of boxes is filtered horizontally as soon as it is made, so only the s-wide
	// intermediate (s×bh) is kept, never the box-reduced image itself.
	mid := make([]float32, s*bh*3)
	rows(bh, func(lo, hi int) {
		acc := make([]uint32, bw*3)
		src := make([]float32, bw*3)
		scratch := make([]uint8, 4*w)
		for by := lo; by < hi; by++ {
			clear(acc)
			y0, y1 := by*ky, min((by+1)*ky, h)
			for y := y0; y < y1; y++ {
				row := rowOf(y, scratch)
				for x, bx := 0, 0; bx < bw; bx++ {
					var r, g, b uint32
					for end := min(x+kx, w); x < end; x++ {
						r += uint32(row[4*x])
						g += uint32(row[4*x+1])
						b += uint32(row[4*x+2])
					}
					acc[3*bx] += r
					acc[3*bx+1] += g
					acc[3*bx+2] += b
				}
			}
			for bx := 0; bx < bw; bx++ {
				n := float32((min((bx+1)*kx, w) - bx*kx) * (y1 - y0))
				src[3*bx] = float32(acc[3*bx]) / n
				src[3*bx+1] = float32(acc[3*bx+1]) / n
				src[3*bx+2] = float32(acc[3*bx+2]) / n
			}
			out := mid[by*s*3 : (by+1)*s*3]
			for x, t := range xw {
				var r, g, b float32
				for k, wt := range t.w {
					p := src[3*(t.start+k) : 3*(t.start+k)+3]
					r += p[0] * wt
					g += p[1] * wt
					b += p[2] * wt
				}
				out[3*x], out[3*x+1], out[3*x+2] = r, g, b
			}
		}
	})
	plane := s * s
	rows(s, func(lo, hi int) {
		for y := lo; y < hi; y++ {
			t := yw[y]
			for x := 0; x < s; x++ {
				var r, g, b float32
				for k, wt := range t.w {
					p := mid[((t.start+k)*s+x)*3:]
					r += p[0] * wt
					g += p[1] * wt
					b += p[2] * wt
				}
				dst[y*s+x], dst[plane+y*s+x], dst[2*plane+y*s+x] = r, g, b
			}
		}
	})
}

// rgbaRows returns a function giving row y of img as 8-bit RGBA (4 bytes a pixel, alpha not
// read): NRGBA rows are returned in place, Y′CbCr rows are converted into scratch (4·width
// bytes) exactly as image/color converts them (see ycbcrRow). img is an *image.NRGBA or an *image.YCbCr with
// its origin at (0,0).
func rgbaRows(img image.Image) func(y int, scratch []uint8) []uint8 {
	switch m := img.(type) {
	case *image.NRGBA:
		w := m.Rect.Dx()
		return func(y int, _ []uint8) []uint8 { return m.Pix[y*m.Stride : y*m.Stride+4*w] }
	case *image.YCbCr:
		w := m.Rect.Dx()
		return func(y int, scratch []uint8) []uint8 {
			ycbcrRow(m, y, scratch)
			return scratch[:4*w]
		}
	}
	panic(fmt.Sprintf("infer: resize of %T", img))
}

type taps struct {
	start int
	w     []float32
}

// triangleWeights gives, for each of n output pixels across src source pixels that were
// box-reduced by k (box j covers source pixels [j·k, min((j+1)·k, src))), the boxes to
// combine and their normalised weights: a triangle filter in source coordinates, widened by
// the scale when reducing, each box weighted at its own centre and by its width.
func triangleWeights(src, k, n int) []taps {
	scale := float64(src) / float64(n)
	support := max(1.0, scale)
	boxes := (src + k - 1) / k
	out := make([]taps, n)
	for i := range out {
		c := (float64(i) + 0.5) * scale // output centre, in source pixel units
		lo := max(0, int(math.Floor((c-support)/float64(k))))
		hi := min(boxes-1, int(math.Floor((c+support)/float64(k))))
		ws := make([]float32, 0, hi-lo+1)
		var sum float64
		for j := lo; j <= hi; j++ {
			b0, b1 := float64(j*k), float64(min((j+1)*k, src))
			v := (1 - math.Abs((b0+b1)/2-c)/support) * (b1 - b0)
			if v < 0 {
				v = 0
			}
			ws = append(ws, float32(v))
			sum += v
		}
		if sum == 0 {
			j := min(max(0, int(c)/k), boxes-1)
			lo, ws, sum = j, []float32{1}, 1
		}
		for m := range ws {
			ws[m] /= float32(sum)
		}
		out[i] = taps{start: lo, w: ws}
	}
	return out
}
