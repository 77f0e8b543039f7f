package infer

import (
	"image"
	"math"
)

// resizeRGB resamples img's colour channels (alpha is ignored, as rembg and the peer do) to
// s×s float32 planes in 0..255, antialiased: an integer box reduction first (cheap, exact
// area averaging) while the image is at least twice the target, then a separable triangle
// filter whose support widens with the remaining scale. Geometry is exact: pixel centres
// map to pixel centres. The three planes go to dst (3·s·s).
func resizeRGB(img *image.NRGBA, s int, dst []float32) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	kx, ky := max(1, w/s), max(1, h/s)
	bw, bh := (w+kx-1)/kx, (h+ky-1)/ky // the last box in a row or column may be narrower
	box := make([]float32, bw*bh*3)
	rows(bh, func(lo, hi int) {
		acc := make([]uint32, bw*3)
		for by := lo; by < hi; by++ {
			clear(acc)
			y0, y1 := by*ky, min((by+1)*ky, h)
			for y := y0; y < y1; y++ {
				row := img.Pix[y*img.Stride : y*img.Stride+4*w]
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
			out := box[by*bw*3 : (by+1)*bw*3]
			for bx := 0; bx < bw; bx++ {
				n := float32((min((bx+1)*kx, w) - bx*kx) * (y1 - y0))
				out[3*bx] = float32(acc[3*bx]) / n
				out[3*bx+1] = float32(acc[3*bx+1]) / n
				out[3*bx+2] = float32(acc[3*bx+2]) / n
			}
		}
	})
	xw := triangleWeights(w, kx, s)
	yw := triangleWeights(h, ky, s)
	mid := make([]float32, s*bh*3) // s wide, bh tall
	rows(bh, func(lo, hi int) {
		for y := lo; y < hi; y++ {
			src := box[y*bw*3 : (y+1)*bw*3]
			out := mid[y*s*3 : (y+1)*s*3]
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
