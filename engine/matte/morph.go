package matte

import (
	"image"
	"math"

	"cutout/internal/parallel"
)

// PostProcessMask is rembg's post_process_mask: a morphological opening with a 3×3 cross
// (removes specks and thin spurs), a 5×5 Gaussian blur with sigma 2 (rounds the outline), and a
// threshold at 127, giving a binary mask with mask's bounds.
func PostProcessMask(mask *image.Gray) *image.Gray {
	m, w, h := grayPix(mask)
	a := crossMorph(m, w, h, false) // erode
	a = crossMorph(a, w, h, true)   // dilate
	f := grayFloat(a)
	gaussian(f, w, h, 2, 2)
	out := make([]uint8, w*h)
	parallel.For(len(out), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			if f[i]*255 >= 126.5 { // cv2 rounds the blurred uint8; 127 and up is foreground
				out[i] = 255
			}
		}
	})
	return newGray(mask.Rect, out)
}

// crossMorph is a grey erosion (min) or dilation (max) with the 3×3 cross; pixels outside the
// image are ignored.
func crossMorph(m []uint8, w, h int, dilate bool) []uint8 {
	out := make([]uint8, len(m))
	pick := func(a, b uint8) uint8 {
		if dilate == (b > a) {
			return b
		}
		return a
	}
	parallel.For(h, func(lo, hi int) {
		for y := lo; y < hi; y++ {
			for x := range w {
				i := y*w + x
				v := m[i]
				if x > 0 {
					v = pick(v, m[i-1])
				}
				if x < w-1 {
					v = pick(v, m[i+1])
				}
				if y > 0 {
					v = pick(v, m[i-w])
				}
				if y < h-1 {
					v = pick(v, m[i+w])
				}
				out[i] = v
			}
		}
	})
	return out
}

// Feather softens the matte's edges by px pixels: a Gaussian blur with sigma px/2, so that about
// 95% of the new transition lies within px pixels on each side of the old edge. The blur is
// symmetric, so a hard edge becomes a ramp centred on it. px <= 0 returns a copy.
func Feather(alpha *image.Gray, px float64) *image.Gray {
	a, w, h := grayPix(alpha)
	if !(px > 0) {
		return newGray(alpha.Rect, append([]uint8(nil), a...))
	}
	sigma := px / 2
	f := grayFloat(a)
	gaussian(f, w, h, sigma, int(math.Ceil(3*sigma)))
	out := make([]uint8, w*h)
	parallel.For(len(out), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			out[i] = to8(f[i])
		}
	})
	return newGray(alpha.Rect, out)
}

// gaussian blurs a w×h plane in place with a normalised kernel of the given sigma and radius,
// replicating the border. Rows whose window is constant are copied, which makes mattes (mostly
// flat) cheap whatever the radius.
func gaussian(f []float32, w, h int, sigma float64, radius int) {
	if radius < 1 || sigma <= 0 {
		return
	}
	k := make([]float32, 2*radius+1)
	var sum float64
	for i := range k {
		d := float64(i - radius)
		v := math.Exp(-d * d / (2 * sigma * sigma))
		k[i] = float32(v)
		sum += v
	}
	for i := range k {
		k[i] /= float32(sum)
	}
	blurRows(f, w, h, k)
	t := transpose(f, w, h)
	blurRows(t, h, w, k)
	copy(f, transpose(t, h, w))
}

// blurRows convolves every row of a w×h plane with kernel k (odd length), replicating borders.
func blurRows(f []float32, w, h int, k []float32) {
	r := len(k) / 2
	parallel.For(h, func(lo, hi int) {
		line := make([]float32, w+2*r)
		next := make([]int32, w+2*r) // index of the next different value
		for y := lo; y < hi; y++ {
			row := f[y*w : (y+1)*w]
			for i := range line {
				line[i] = row[min(w-1, max(0, i-r))]
			}
			n := len(line)
			next[n-1] = int32(n)
			for i := n - 2; i >= 0; i-- {
				if line[i] == line[i+1] {
					next[i] = next[i+1]
				} else {
					next[i] = int32(i + 1)
				}
			}
			for x := range row {
				if int(next[x]) > x+2*r {
					row[x] = line[x]
					continue
				}
				var s float32
				for j, kv := range k {
					s += kv * line[x+j]
				}
				row[x] = s
			}
		}
	})
}

// transpose returns the h×w transpose of a w×h plane.
func transpose(f []float32, w, h int) []float32 {
	t := make([]float32, len(f))
	const bs = 32
	parallel.For((h+bs-1)/bs, func(lo, hi int) {
		for by := lo * bs; by < min(hi*bs, h); by += bs {
			for bx := 0; bx < w; bx += bs {
				for y := by; y < min(by+bs, h); y++ {
					for x := bx; x < min(bx+bs, w); x++ {
						t[x*h+y] = f[y*w+x]
					}
				}
			}
		}
	})
	return t
}

// Shift grows (px > 0) or shrinks (px < 0) the matte by |px| pixels: a grey dilation or erosion
// with a disk, which moves soft edges outward or inward without changing their profile. The image
// border neither grows nor shrinks the matte.
func Shift(alpha *image.Gray, px int) *image.Gray {
	a, w, h := grayPix(alpha)
	if px == 0 {
		return newGray(alpha.Rect, append([]uint8(nil), a...))
	}
	src := a
	if px < 0 {
		src = invert(a)
	}
	out := dilateDisk(src, w, h, abs(px))
	if px < 0 {
		out = invert(out)
	}
	return newGray(alpha.Rect, out)
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func invert(a []uint8) []uint8 {
	out := make([]uint8, len(a))
	for i, v := range a {
		out[i] = 255 - v
	}
	return out
}

// dilateDisk is a grey dilation with a disk of radius r, as a max over its horizontal chords:
// each chord is a 1-D running max (van Herk / Gil-Werman, O(1) per pixel), so the cost is
// O(w*h*r); constant rows (the common case in a matte) cost O(1) per chord.
func dilateDisk(a []uint8, w, h, r int) []uint8 {
	half := make([]int, 2*r+1) // chord half-width for each dy+r
	for dy := -r; dy <= r; dy++ {
		half[dy+r] = int(math.Floor(math.Sqrt(float64(r*r-dy*dy)) + 1e-9))
	}
	rowMax := make([]uint8, h)
	rowConst := make([]bool, h)
	parallel.For(h, func(lo, hi int) {
		for y := lo; y < hi; y++ {
			row := a[y*w : (y+1)*w]
			mn, mx := row[0], row[0]
			for _, v := range row {
				mn, mx = min(mn, v), max(mx, v)
			}
			rowMax[y], rowConst[y] = mx, mn == mx
		}
	})
	out := make([]uint8, w*h)
	parallel.For(h, func(lo, hi int) {
		g := make([]uint8, w+4*r+2)
		hb := make([]uint8, w+4*r+2)
		tmp := make([]uint8, w)
		for y := lo; y < hi; y++ {
			dst := out[y*w : (y+1)*w]
			var floor uint8 // max of the constant rows in reach
			for dy := -r; dy <= r; dy++ {
				if sy := y + dy; sy >= 0 && sy < h && rowConst[sy] {
					floor = max(floor, rowMax[sy])
				}
			}
			for i := range dst {
				dst[i] = floor
			}
			if floor == 255 {
				continue
			}
			for dy := -r; dy <= r; dy++ {
				sy := y + dy
				if sy < 0 || sy >= h || rowConst[sy] || rowMax[sy] <= floor {
					continue
				}
				runMax(a[sy*w:(sy+1)*w], half[dy+r], tmp, g, hb)
				for i, v := range tmp {
					dst[i] = max(dst[i], v)
				}
			}
		}
	})
	return out
}

// runMax writes to out the max of row over [x-k, x+k] (clipped to the row) for every x, using
// the van Herk / Gil-Werman block trick; g and hb are scratch of length >= len(row)+2k+1.
func runMax(row []uint8, k int, out, g, hb []uint8) {
	if k == 0 {
		copy(out, row)
		return
	}
	w, n := len(row), len(row)+2*k
	L := 2*k + 1
	pad := func(i int) uint8 { // padded index i is row index i-k; outside is neutral (0)
		if j := i - k; j >= 0 && j < w {
			return row[j]
		}
		return 0
	}
	for b := 0; b < n; b += L {
		e := min(b+L, n)
		g[b] = pad(b)
		for i := b + 1; i < e; i++ {
			g[i] = max(g[i-1], pad(i))
		}
		hb[e-1] = pad(e - 1)
		for i := e - 2; i >= b; i-- {
			hb[i] = max(hb[i+1], pad(i))
		}
	}
	// Window [x, x+2k] in padded coordinates spans at most two blocks.
	for x := range w {
		out[x] = max(hb[x], g[x+2*k])
	}
}
