package infer

import (
	"image"
	"math"

	"cutout/internal/parallel"
)

// resizeRGB resamples img's colour channels (alpha is ignored, as rembg and the peer do) to
// s×s float32 planes in 0..255, antialiased: an integer box reduction first (cheap, exact
// area averaging) while the image is at least twice the target, then a separable triangle
// filter whose support widens with the remaining scale. Geometry is exact: pixel centres
// map to pixel centres. The three planes go to dst (3·s·s). img's origin is at (0,0).
func resizeRGB(img *image.NRGBA, s int, dst []float32) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	kx, ky := boxFactors(w, h, s)
	bw := (w + kx - 1) / kx
	resample(w, h, s, func() boxRow {
		acc := make([]uint32, bw*3)
		return func(by int, src []float32) {
			clear(acc)
			y0, y1 := by*ky, min((by+1)*ky, h)
			for y := y0; y < y1; y++ {
				addRGBBoxSums(img.Pix[y*img.Stride:y*img.Stride+4*w], kx, acc)
			}
			for bx := 0; bx < bw; bx++ {
				n := float32((min((bx+1)*kx, w) - bx*kx) * (y1 - y0))
				src[3*bx] = float32(acc[3*bx]) / n
				src[3*bx+1] = float32(acc[3*bx+1]) / n
				src[3*bx+2] = float32(acc[3*bx+2]) / n
			}
		}
	}, false, dst)
}

// addRGBBoxSums adds to acc[3j…3j+2] the R, G and B sums of the pixels [j·k, (j+1)·k) of
// row (RGBA, 4 bytes a pixel; the last box may be narrower). A function of its own: the
// same loop written inside the closure above ran about 10% slower.
func addRGBBoxSums(row []uint8, k int, acc []uint32) {
	w := len(row) / 4
	for x, bx := 0, 0; 3*bx < len(acc); bx++ {
		var r, g, b uint32
		for end := min(x+k, w); x < end; x++ {
			r += uint32(row[4*x])
			g += uint32(row[4*x+1])
			b += uint32(row[4*x+2])
		}
		acc[3*bx] += r
		acc[3*bx+1] += g
		acc[3*bx+2] += b
	}
}

// boxFactors is the integer box reduction (kx×ky source pixels a box) ahead of the triangle
// filter for a w×h source and an s×s result: as large as keeps at least s boxes each way.
func boxFactors(w, h, s int) (kx, ky int) { return max(1, w/s), max(1, h/s) }

// A boxRow writes the three channel averages of every box in box row by (boxes as
// boxFactors makes them, the last in a row or column possibly narrower) to src,
// interleaved. Each worker of resample makes its own, so it may keep scratch buffers.
type boxRow func(by int, src []float32)

// resample is resizeRGB's filtering for any source of box rows: the triangle filter across
// the boxes of each row, then down the columns, into dst's three s×s planes. With ycc the
// channels are Y′, Cb and Cr and are converted to RGB as they are written (see
// resizeYCbCr).
func resample(w, h, s int, newBoxRow func() boxRow, ycc bool, dst []float32) {
	kx, ky := boxFactors(w, h, s)
	bw, bh := (w+kx-1)/kx, (h+ky-1)/ky
	xw := triangleWeights(w, kx, s)
	yw := triangleWeights(h, ky, s)
	// Each row of boxes is filtered horizontally as soon as it is made, so only the s-wide
	// intermediate (s×bh) is kept, never the box-reduced image itself.
	mid := make([]float32, s*bh*3)
	parallel.For(bh, func(lo, hi int) {
		boxes := newBoxRow()
		src := make([]float32, bw*3)
		for by := lo; by < hi; by++ {
			boxes(by, src)
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
	parallel.For(s, func(lo, hi int) {
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
				if ycc {
					r, g, b = ycbcrToRGB(r, g, b)
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
