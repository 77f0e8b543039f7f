package ui

import (
	"image"
	"image/color"
	"image/draw"
	"math"

	"cutout/engine/matte"
	"cutout/engine/ycc"
	"cutout/internal/parallel"
)

// displaySide is the longer side of the display copy the preview works on: twice the size
// of the preview pane in a usual window, small enough that a slider move with guided
// refinement, a shift and a feather stays under 100 ms on two cores (BenchmarkPreview12MP).
const displaySide = 1280

// thumbSide is the longer side of a queue row's thumbnail, in pixels.
const thumbSide = 96

// displayCopy is a job's image and mask reduced for the preview: scale is its size over the
// photo's (1 when the photo is already small).
type displayCopy struct {
	img   *image.NRGBA
	mask  *image.Gray
	scale float64
}

// newDisplayCopy reduces img (an *image.NRGBA, or a JPEG's *image.YCbCr as the engine sends
// it) and mask (of the same size) as reduceImage does.
func newDisplayCopy(img image.Image, mask *image.Gray, side int) displayCopy {
	d, k := reduceImage(img, side)
	switch {
	case d.scale == 1:
		d.mask = mask
	case k > 0:
		d.mask = blocksGray(mask, k)
	default:
		d.mask = resizeGray(mask, d.img.Rect.Dx(), d.img.Rect.Dy())
	}
	return d
}

// reduceImage is the image of a display copy (its mask left nil): img reduced so that the
// longer side is at most side pixels. When averaging whole k×k blocks gets there and keeps
// at least three quarters of side (a 12 MP photo: 4×4 blocks, 1000 × 750), that is all it
// does and it returns k: the fractional filter pass after the blocks was 40 % of the time,
// and the scale is then exactly 1/k. Otherwise k is 0.
func reduceImage(img image.Image, side int) (d displayCopy, k int) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	s := math.Min(1, float64(side)/float64(max(w, h)))
	if s == 1 {
		return displayCopy{img: nrgbaOf(img), scale: 1}, 0
	}
	if k := (max(w, h) + side - 1) / side; k >= 2 && max(w, h)/k >= side*3/4 {
		return displayCopy{img: blocksNRGBA(img, k), scale: 1 / float64(k)}, k
	}
	dw, dh := max(1, int(math.Round(float64(w)*s))), max(1, int(math.Round(float64(h)*s)))
	d = displayCopy{scale: float64(dw) / float64(w)}
	if m, ok := img.(*image.YCbCr); ok {
		d.img = resizeYCbCr(m, dw, dh)
	} else {
		d.img = resizeNRGBA(nrgbaOf(img), dw, dh)
	}
	return d, 0
}

// nrgbaOf is img as NRGBA with its origin at (0,0): img itself, or a JPEG's Y′CbCr converted.
func nrgbaOf(img image.Image) *image.NRGBA {
	switch m := img.(type) {
	case *image.NRGBA:
		if m.Rect.Min == (image.Point{}) {
			return m
		}
	case *image.YCbCr:
		return ycc.ToNRGBA(m)
	}
	b := img.Bounds()
	out := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(out, out.Rect, img, b.Min, draw.Src)
	return out
}

// thumbnail is the cut-out of img by mask, reduced to fit side × side.
func thumbnail(img *image.NRGBA, mask *image.Gray, side int) *image.NRGBA {
	d := newDisplayCopy(img, mask, side)
	out := image.NewNRGBA(d.img.Rect)
	for i, a := range d.mask.Pix[:len(out.Pix)/4] {
		copy(out.Pix[4*i:4*i+3], d.img.Pix[4*i:4*i+3])
		out.Pix[4*i+3] = a
	}
	return out
}

// resizeNRGBA reduces src to w × h with an area-averaging (box) filter, the right filter for
// shrinking: every source pixel contributes in proportion to the area it covers.
func resizeNRGBA(src *image.NRGBA, w, h int) *image.NRGBA {
	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	sw, sh := src.Rect.Dx(), src.Rect.Dy()
	tight := pixOf(src.Pix, src.Stride, sw, sh, 4)
	areaResize(tight, sw, sh, dst.Pix, w, h, 4)
	return dst
}

// resizeYCbCr is resizeNRGBA for a JPEG's Y′CbCr: whole blocks are averaged in Y′CbCr
// (ycc.Blocks), so the full-size NRGBA image (48 MB at 12 MP) is never made.
func resizeYCbCr(src *image.YCbCr, w, h int) *image.NRGBA {
	sw, sh := src.Rect.Dx(), src.Rect.Dy()
	k := min(sw/w, sh/h)
	if k < 2 || !ycc.Usable(src) {
		return resizeNRGBA(ycc.ToNRGBA(src), w, h)
	}
	boxes := ycc.Blocks(src, k)
	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	areaResize(boxes.Pix, boxes.Rect.Dx(), boxes.Rect.Dy(), dst.Pix, w, h, 4)
	return dst
}

// blocksNRGBA averages img's k×k blocks (the last in a row or column may be narrower); a
// JPEG's Y′CbCr is averaged as it is and each mean converted (ycc.Blocks).
func blocksNRGBA(img image.Image, k int) *image.NRGBA {
	if m, ok := img.(*image.YCbCr); ok && ycc.Usable(m) {
		return ycc.Blocks(m, k)
	}
	b := img.Bounds()
	sw, sh := b.Dx(), b.Dy()
	n := nrgbaOf(img)
	rows := func(y int, _ []uint8) []uint8 { return n.Pix[y*n.Stride : y*n.Stride+4*sw] }
	pix, bw, bh := boxReduce(rows, sw, sh, 4, k)
	return &image.NRGBA{Pix: pix, Stride: 4 * bw, Rect: image.Rect(0, 0, bw, bh)}
}

// blocksGray is blocksNRGBA for a grey image.
func blocksGray(g *image.Gray, k int) *image.Gray {
	sw, sh := g.Rect.Dx(), g.Rect.Dy()
	rows := func(y int, _ []uint8) []uint8 {
		i := g.PixOffset(g.Rect.Min.X, g.Rect.Min.Y+y)
		return g.Pix[i : i+sw]
	}
	pix, bw, bh := boxReduce(rows, sw, sh, 1, k)
	return &image.Gray{Pix: pix, Stride: bw, Rect: image.Rect(0, 0, bw, bh)}
}

// resizeGray is resizeNRGBA for grey images.
func resizeGray(src *image.Gray, w, h int) *image.Gray {
	dst := image.NewGray(image.Rect(0, 0, w, h))
	sw, sh := src.Rect.Dx(), src.Rect.Dy()
	tight := pixOf(src.Pix, src.Stride, sw, sh, 1)
	areaResize(tight, sw, sh, dst.Pix, w, h, 1)
	return dst
}

// pixOf returns the pixels of an image as a tight buffer (copying only when rows are padded).
func pixOf(pix []uint8, stride, w, h, ch int) []uint8 {
	if stride == w*ch {
		return pix[:w*h*ch]
	}
	out := make([]uint8, w*h*ch)
	for y := 0; y < h; y++ {
		copy(out[y*w*ch:(y+1)*w*ch], pix[y*stride:y*stride+w*ch])
	}
	return out
}

// span is one source index and its weight in a destination pixel.
type span struct {
	i int
	w float32
}

// areaWeights returns, for each of n destination cells over m source cells, the source
// cells it covers and their normalised weights.
func areaWeights(m, n int) [][]span {
	out := make([][]span, n)
	r := float64(m) / float64(n)
	for j := range out {
		a, b := float64(j)*r, float64(j+1)*r
		for i := int(a); i < m && float64(i) < b; i++ {
			w := math.Min(b, float64(i+1)) - math.Max(a, float64(i))
			if w > 1e-9 {
				out[j] = append(out[j], span{i, float32(w / r)})
			}
		}
	}
	return out
}

// areaResize is a separable box-filter resize of interleaved 8-bit pixels (ch channels). Each
// destination row is made on its own (rows in parallel): the source rows it covers are
// filtered horizontally and summed with their vertical weights straight into it, so no
// full-height intermediate is kept.
func areaResize(src []uint8, sw, sh int, dst []uint8, dw, dh, ch int) {
	if k := min(sw/dw, sh/dh); k >= 2 {
		// Average k×k blocks first (integer sums, a fraction of the cost), then finish the
		// remaining, less than twofold reduction with the area filter.
		tight, rowLen := src, sw*ch
		src, sw, sh = boxReduce(func(y int, _ []uint8) []uint8 { return tight[y*rowLen : (y+1)*rowLen] }, sw, sh, ch, k)
	}
	xs, ys := areaWeights(sw, dw), areaWeights(sh, dh)
	eachRow(dh, func(y int) {
		acc := make([]float32, dw*ch)
		for _, v := range ys[y] {
			row := src[v.i*sw*ch : (v.i+1)*sw*ch]
			switch ch {
			case 4:
				for x, sp := range xs {
					var r, g, b, a float32
					for _, p := range sp {
						px := row[4*p.i : 4*p.i+4 : 4*p.i+4]
						r += float32(px[0]) * p.w
						g += float32(px[1]) * p.w
						b += float32(px[2]) * p.w
						a += float32(px[3]) * p.w
					}
					o := acc[4*x : 4*x+4 : 4*x+4]
					o[0] += r * v.w
					o[1] += g * v.w
					o[2] += b * v.w
					o[3] += a * v.w
				}
			default:
				for x, sp := range xs {
					for c := 0; c < ch; c++ {
						var s float32
						for _, p := range sp {
							s += float32(row[p.i*ch+c]) * p.w
						}
						acc[x*ch+c] += s * v.w
					}
				}
			}
		}
		out := dst[y*dw*ch : (y+1)*dw*ch]
		for i, v := range acc {
			out[i] = uint8(min(255, max(0, v+0.5)))
		}
	})
}

// boxReduce averages k×k blocks of interleaved 8-bit pixels (ch channels), reading source
// row y as row(y, scratch) (scratch has room for a row); the last block of a row or column
// may be narrower.
func boxReduce(row func(y int, scratch []uint8) []uint8, sw, sh, ch, k int) ([]uint8, int, int) {
	bw, bh := (sw+k-1)/k, (sh+k-1)/k
	out := make([]uint8, bw*bh*ch)
	parallel.Workers(bh, func() func(lo, hi int) {
		acc := make([]uint32, bw*ch)
		scratch := make([]uint8, sw*ch)
		return func(lo, hi int) {
			for by := lo; by < hi; by++ {
				boxRow(row, scratch, acc, out[by*bw*ch:(by+1)*bw*ch], by, sw, sh, ch, k)
			}
		}
	})
	return out, bw, bh
}

// boxRow makes box row by of boxReduce into o, with acc (bw·ch) as its sums.
func boxRow(row func(y int, scratch []uint8) []uint8, scratch []uint8, acc []uint32, o []uint8, by, sw, sh, ch, k int) {
	bw := len(o) / ch
	clear(acc)
	y0, y1 := by*k, min((by+1)*k, sh)
	for y := y0; y < y1; y++ {
		row := row(y, scratch)
		if ch == 4 {
			// One pass along the row, moving to the next block every k pixels.
			bx, n := 0, 0
			for i := 0; i+3 < len(row); i += 4 {
				a := acc[4*bx : 4*bx+4 : 4*bx+4]
				a[0] += uint32(row[i])
				a[1] += uint32(row[i+1])
				a[2] += uint32(row[i+2])
				a[3] += uint32(row[i+3])
				if n++; n == k {
					n = 0
					bx++
				}
			}
			continue
		}
		if ch == 1 {
			bx, n := 0, 0
			for _, v := range row {
				acc[bx] += uint32(v)
				if n++; n == k {
					n = 0
					bx++
				}
			}
			continue
		}
		bx, n := 0, 0
		for i, v := range row {
			acc[bx*ch+i%ch] += uint32(v)
			if i%ch == ch-1 {
				if n++; n == k {
					n = 0
					bx++
				}
			}
		}
	}
	for bx := 0; bx < bw; bx++ {
		n := uint32((min((bx+1)*k, sw) - bx*k) * (y1 - y0))
		for c := 0; c < ch; c++ {
			o[bx*ch+c] = uint8((acc[bx*ch+c] + n/2) / n)
		}
	}
}

// eachRow runs f for every row in [0, n), rows in parallel (see package parallel).
func eachRow(n int, f func(y int)) {
	parallel.For(n, func(lo, hi int) {
		for y := lo; y < hi; y++ {
			f(y)
		}
	})
}

// finished is the result of the finishing stage on one image.
type finished struct {
	out   *image.NRGBA // the composite, as exported
	alpha *image.Gray  // the final matte
}

// compareMode is what the preview shows.
type compareMode int

const (
	showAfter  compareMode = iota // the cut-out
	showBefore                    // the photo
	showSplit                     // the photo left of the split, the cut-out right of it
)

// Tints of the brush strokes drawn over the preview.
var (
	keepTint   = color.NRGBA{R: 40, G: 200, B: 90, A: 110}
	removeTint = color.NRGBA{R: 230, G: 50, B: 60, A: 110}
)

// composeView builds the image the preview shows into dst (reused when it has the right
// size): the cut-out, the photo, or both split at column split, with the brush strokes
// tinted over them when hints is not nil.
func composeView(dst, after, before *image.NRGBA, mode compareMode, split int, hints *matte.Hints) *image.NRGBA {
	r := after.Rect
	if dst == nil || dst.Rect != r {
		dst = image.NewNRGBA(r)
	}
	w, h := r.Dx(), r.Dy()
	switch mode {
	case showBefore:
		split = w
	case showAfter:
		split = 0
	}
	split = min(max(split, 0), w)
	eachRow(h, func(y int) {
		d := dst.Pix[y*dst.Stride : y*dst.Stride+4*w]
		copy(d[:4*split], before.Pix[y*before.Stride:y*before.Stride+4*split])
		copy(d[4*split:], after.Pix[y*after.Stride+4*split:y*after.Stride+4*w])
		if hints != nil {
			tintRow(d, hints.Keep, y, keepTint)
			tintRow(d, hints.Remove, y, removeTint)
		}
	})
	return dst
}

// tintRow blends c over the pixels of row y of d where m is set.
func tintRow(d []uint8, m *image.Alpha, y int, c color.NRGBA) {
	if m == nil {
		return
	}
	row := m.Pix[y*m.Stride : y*m.Stride+len(d)/4]
	a := uint32(c.A)
	for x, v := range row {
		if v == 0 {
			continue
		}
		p := d[4*x : 4*x+4]
		p[0] = uint8((uint32(c.R)*a + uint32(p[0])*(255-a)) / 255)
		p[1] = uint8((uint32(c.G)*a + uint32(p[1])*(255-a)) / 255)
		p[2] = uint8((uint32(c.B)*a + uint32(p[2])*(255-a)) / 255)
		p[3] = max(p[3], c.A)
	}
}

// checker fills an image with a checkerboard of cell-pixel squares in colours a and b.
func checker(w, h, cell int, a, b color.NRGBA) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		row := img.Pix[y*img.Stride:]
		for x := 0; x < w; x++ {
			c := a
			if (x/cell+y/cell)%2 == 1 {
				c = b
			}
			row[4*x], row[4*x+1], row[4*x+2], row[4*x+3] = c.R, c.G, c.B, c.A
		}
	}
	return img
}

// grayToNRGBA makes an opaque colour image of a grey one.
func grayToNRGBA(g *image.Gray) *image.NRGBA {
	out := image.NewNRGBA(g.Rect)
	w := g.Rect.Dx()
	for y := 0; y < g.Rect.Dy(); y++ {
		src := g.Pix[y*g.Stride : y*g.Stride+w]
		dst := out.Pix[y*out.Stride:]
		for x, v := range src {
			dst[4*x], dst[4*x+1], dst[4*x+2], dst[4*x+3] = v, v, v, 255
		}
	}
	return out
}
