package infer

import (
	"encoding/binary"
	"image"

	"cutout/internal/parallel"

	"github.com/disintegration/imaging"
)

// exifOrientation reads the EXIF orientation (1–8) of a JPEG: the tag 0x0112 of the first
// IFD of the first APP1 "Exif" segment before the image data. Anything else — not a JPEG, no
// EXIF, a malformed or out-of-range tag — is 1 (as it is), as imaging's AutoOrientation reads
// it (which gives up at a first APP1 that is not EXIF, where this looks on).
func exifOrientation(data []byte) int {
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return 1
	}
	for p := 2; p+4 <= len(data); {
		if data[p] != 0xFF {
			return 1
		}
		marker := data[p+1]
		if marker == 0xFF { // fill byte
			p++
			continue
		}
		if marker == 0xDA || marker == 0xD9 { // image data or end: no EXIF before it
			return 1
		}
		n := int(binary.BigEndian.Uint16(data[p+2:]))
		if n < 2 || p+2+n > len(data) {
			return 1
		}
		seg := data[p+4 : p+2+n]
		if marker == 0xE1 && len(seg) >= 6 && string(seg[:6]) == "Exif\x00\x00" {
			return tiffOrientation(seg[6:])
		}
		p += 2 + n
	}
	return 1
}

// tiffOrientation reads the orientation tag of the first IFD of a TIFF header (1 if none).
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(t[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return 1
	}
	ifd := int64(bo.Uint32(t[4:]))
	if ifd < 8 || ifd+2 > int64(len(t)) {
		return 1
	}
	count := int64(bo.Uint16(t[ifd:]))
	for i := int64(0); i < count; i++ {
		e := ifd + 2 + 12*i
		if e+12 > int64(len(t)) {
			return 1
		}
		if bo.Uint16(t[e:]) != 0x0112 {
			continue
		}
		// The value is a SHORT, the first two bytes of the entry's value field.
		if v := int(bo.Uint16(t[e+8:])); v >= 1 && v <= 8 {
			return v
		}
		return 1
	}
	return 1
}

// orientNRGBA turns img upright for EXIF orientation o (as imaging.AutoOrientation does).
func orientNRGBA(img *image.NRGBA, o int) *image.NRGBA {
	switch o {
	case 2:
		return imaging.FlipH(img)
	case 3:
		return imaging.Rotate180(img)
	case 4:
		return imaging.FlipV(img)
	case 5:
		return imaging.Transpose(img)
	case 6:
		return imaging.Rotate270(img)
	case 7:
		return imaging.Transverse(img)
	case 8:
		return imaging.Rotate90(img)
	}
	return img
}

// orientYCbCr turns a JPEG's Y′CbCr (Usable) upright for EXIF orientation o by moving the
// bytes of each plane, so that a phone photo taken sideways keeps the Y′CbCr path (the photo
// is never held as NRGBA). The chroma planes move with the luma exactly when the luma's size
// is a whole number of chroma samples (even sides for 4:2:0, as cameras write them) and the
// ratio has a transposed twin (4:2:2 ↔ 4:4:0); otherwise it returns false.
func orientYCbCr(m *image.YCbCr, o int) (*image.YCbCr, bool) {
	if o == 1 {
		return m, true
	}
	w, h := m.Rect.Dx(), m.Rect.Dy()
	hs, vs := chromaShifts(m.SubsampleRatio)
	if w%(1<<hs) != 0 || h%(1<<vs) != 0 {
		return nil, false
	}
	ratio := m.SubsampleRatio
	if o >= 5 { // the axes swap
		switch ratio {
		case image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio420:
		case image.YCbCrSubsampleRatio422:
			ratio = image.YCbCrSubsampleRatio440
		case image.YCbCrSubsampleRatio440:
			ratio = image.YCbCrSubsampleRatio422
		default:
			return nil, false
		}
	}
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w
	}
	out := image.NewYCbCr(image.Rect(0, 0, dw, dh), ratio)
	cw, ch, _ := chroma(m)
	orientPlane(out.Y, out.YStride, m.Y, m.YStride, w, h, o)
	orientPlane(out.Cb, out.CStride, m.Cb, m.CStride, cw, ch, o)
	orientPlane(out.Cr, out.CStride, m.Cr, m.CStride, cw, ch, o)
	return out, true
}

// orientPlane writes the w×h plane src (rows stride apart), turned for orientation o, into
// dst (rows dstStride apart; h×w when o transposes).
func orientPlane(dst []uint8, dstStride int, src []uint8, stride, w, h, o int) {
	if o < 5 { // rows stay rows
		parallel.For(h, func(lo, hi int) {
			for y := lo; y < hi; y++ {
				out := dst[y*dstStride : y*dstStride+w]
				sy := y
				if o != 2 {
					sy = h - 1 - y
				}
				in := src[sy*stride : sy*stride+w]
				if o == 4 {
					copy(out, in)
					continue
				}
				for x := range out {
					out[x] = in[w-1-x]
				}
			}
		})
		return
	}
	// Columns become rows: output row y is source column y (5, 6) or w−1−y (7, 8), read
	// downwards (5, 8) or upwards (6, 7). Bands of output rows are made together, so that
	// each source row is read a band's width at a time rather than a byte at a time.
	const band = 32
	parallel.For((w+band-1)/band, func(lo, hi int) {
		for b := lo; b < hi; b++ {
			y0, y1 := b*band, min((b+1)*band, w)
			for x := 0; x < h; x++ {
				sy := x
				if o == 6 || o == 7 {
					sy = h - 1 - x
				}
				in := src[sy*stride : sy*stride+w]
				if o == 5 || o == 6 {
					for y := y0; y < y1; y++ {
						dst[y*dstStride+x] = in[y]
					}
				} else {
					for y := y0; y < y1; y++ {
						dst[y*dstStride+x] = in[w-1-y]
					}
				}
			}
		}
	})
}
