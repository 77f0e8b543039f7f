package infer

import "image"

// resizeYCbCr is resizeRGB for a Y′CbCr image (origin at (0,0), one of image's six
// subsampling ratios) without converting its full-size pixels: the Y, Cb and Cr planes are
// reduced to the s×s grid as if the chroma were first upsampled the way image/color reads
// it (nearest neighbour: each chroma sample stands for a 1, 2 or 4 wide, 1 or 2 high block
// of luma pixels), with the same boxes and triangle weights, and only the s×s result is
// converted to RGB, with JFIF's full-range equations in float, clamped to 0..255.
//
// The filters are linear and the conversion affine, so converting after filtering gives
// what converting first gives, but for what image/color does to each pixel on the NRGBA
// path: it rounds the colour down to 8 bits and clamps it to 0..255, where here only the
// filtered colour is clamped. The two inputs differ by under a level where no pixel is out
// of gamut, by more only where saturated colours meet (preprocess_ycbcr_test.go has the
// bound and the figures). The 12 million per-pixel conversions of a 12 MP photo become a
// million, and the planes are summed as bytes, chroma at its own resolution.
func resizeYCbCr(m *image.YCbCr, s int, dst []float32) {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	cw, _, _ := chroma(m)
	hs, vs := chromaShifts(m.SubsampleRatio)
	kx, ky := boxFactors(w, h, s)
	bw := (w + kx - 1) / kx
	resample(w, h, s, func() boxRow {
		lum := make([]uint32, bw)
		cb, cr := make([]uint32, bw), make([]uint32, bw)
		cbRow, crRow := make([]uint32, cw), make([]uint32, cw)
		return func(by int, src []float32) {
			y0, y1 := by*ky, min((by+1)*ky, h)
			clear(lum)
			for y := y0; y < y1; y++ {
				addBoxSums(m.Y[y*m.YStride:y*m.YStride+w], kx, lum)
			}
			// The chroma rows under the box row, each counted once per luma row it stands
			// for. Full-width chroma is boxed just as the luma is; one chroma row alone
			// (4:2:0 halved, say) is summed across as it is.
			reps := uint32(1)
			if c0, c1 := y0>>vs, (y1-1)>>vs; hs == 0 {
				clear(cb)
				clear(cr)
				for y := y0; y < y1; y++ {
					cy := y >> vs
					addBoxSums(m.Cb[cy*m.CStride:cy*m.CStride+cw], kx, cb)
					addBoxSums(m.Cr[cy*m.CStride:cy*m.CStride+cw], kx, cr)
				}
			} else if c0 == c1 {
				reps = uint32(y1 - y0)
				chromaBoxSums(m.Cb[c0*m.CStride:c0*m.CStride+cw], m.Cr[c0*m.CStride:c0*m.CStride+cw], w, kx, hs, cb, cr)
			} else {
				clear(cbRow)
				clear(crRow)
				for cy := c0; cy <= c1; cy++ {
					n := uint32(min(y1, (cy+1)<<vs) - max(y0, cy<<vs))
					b := m.Cb[cy*m.CStride : cy*m.CStride+cw]
					r := m.Cr[cy*m.CStride : cy*m.CStride+cw]
					for i := range cbRow {
						cbRow[i] += n * uint32(b[i])
						crRow[i] += n * uint32(r[i])
					}
				}
				chromaBoxSums(cbRow, crRow, w, kx, hs, cb, cr)
			}
			// Every box but the last of the row has the same area: one division, not three
			// a box. A lone chroma row's sums are one row's, so its average divides by the
			// box's width alone.
			inv := 1 / float32(kx*(y1-y0))
			cinv := inv * float32(reps)
			for bx := 0; bx < bw; bx++ {
				if bx == bw-1 {
					inv = 1 / float32((w-bx*kx)*(y1-y0))
					cinv = inv * float32(reps)
				}
				src[3*bx] = float32(lum[bx]) * inv
				src[3*bx+1] = float32(cb[bx]) * cinv
				src[3*bx+2] = float32(cr[bx]) * cinv
			}
		}
	}, true, dst)
}

// chromaShifts gives how far a luma x and y shift right to index the chroma sample that
// image/color uses for them.
func chromaShifts(r image.YCbCrSubsampleRatio) (hs, vs int) {
	switch r {
	case image.YCbCrSubsampleRatio422:
		return 1, 0
	case image.YCbCrSubsampleRatio420:
		return 1, 1
	case image.YCbCrSubsampleRatio440:
		return 0, 1
	case image.YCbCrSubsampleRatio411:
		return 2, 0
	case image.YCbCrSubsampleRatio410:
		return 2, 1
	}
	return 0, 0
}

// addBoxSums adds to acc[j] the sum of row[j·k : (j+1)·k] (the last box may be narrower);
// acc holds one count per box.
func addBoxSums(row []uint8, k int, acc []uint32) {
	full := len(row) / k
	// The reductions a 12 MP photo takes to 1024 (3 across, 2 down) and their neighbours
	// are unrolled: a loop over three bytes costs four times the adds.
	switch k {
	case 1:
		for j, v := range row {
			acc[j] += uint32(v)
		}
		return
	case 2:
		for j := range full {
			p := row[2*j : 2*j+2 : 2*j+2]
			acc[j] += uint32(p[0]) + uint32(p[1])
		}
	case 3:
		for j := range full {
			p := row[3*j : 3*j+3 : 3*j+3]
			acc[j] += uint32(p[0]) + uint32(p[1]) + uint32(p[2])
		}
	case 4:
		for j := range full {
			p := row[4*j : 4*j+4 : 4*j+4]
			acc[j] += uint32(p[0]) + uint32(p[1]) + uint32(p[2]) + uint32(p[3])
		}
	default:
		for j := range full {
			var sum uint32
			for _, v := range row[j*k : (j+1)*k] {
				sum += uint32(v)
			}
			acc[j] += sum
		}
	}
	if full < len(acc) {
		var sum uint32
		for _, v := range row[full*k:] {
			sum += uint32(v)
		}
		acc[full] += sum
	}
}

// chromaBoxSums sets cb[j] and cr[j] to the sums, over the luma columns of box j (k wide,
// in a row w wide), of the chroma each column takes: column x takes sample x>>hs of cbRow
// and crRow. A sample that a box edge cuts counts for the columns inside the box only.
func chromaBoxSums[T uint8 | uint32](cbRow, crRow []T, w, k, hs int, cb, cr []uint32) {
	for j := range cb {
		x0, x1 := j*k, min((j+1)*k, w)
		c0, c1 := x0>>hs, (x1-1)>>hs
		if c0 == c1 {
			n := uint32(x1 - x0)
			cb[j], cr[j] = n*uint32(cbRow[c0]), n*uint32(crRow[c0])
			continue
		}
		n0, n1 := uint32((c0+1)<<hs-x0), uint32(x1-c1<<hs)
		b := n0*uint32(cbRow[c0]) + n1*uint32(cbRow[c1])
		r := n0*uint32(crRow[c0]) + n1*uint32(crRow[c1])
		for c := c0 + 1; c < c1; c++ {
			b += uint32(cbRow[c]) << hs
			r += uint32(crRow[c]) << hs
		}
		cb[j], cr[j] = b, r
	}
}

// ycbcrToRGB is JFIF's full-range conversion, in float and clamped to 0..255.
func ycbcrToRGB(y, cb, cr float32) (r, g, b float32) {
	cb, cr = cb-128, cr-128
	r = min(max(y+1.402*cr, 0), 255)
	g = min(max(y-0.34414*cb-0.71414*cr, 0), 255)
	b = min(max(y+1.772*cb, 0), 255)
	return r, g, b
}
