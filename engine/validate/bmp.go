package validate

import "fmt"

// checkBMP reads the dimensions from the BMP header itself, so that absurd
// values are refused as ErrDimensions (x/image/bmp calls a header whose
// pixel buffer would overflow "unsupported"), checks that an uncompressed
// file really holds the pixel rows its header promises, and that a paletted
// one's pixels all name colours of its palette.
func checkBMP(data []byte, lim Limits) (w, h int, err error) {
	infoLen := le32(data[14:])
	var bpp int
	switch {
	case infoLen == 12: // OS/2 BITMAPCOREHEADER: unsigned 16-bit sizes
		if len(data) < 26 {
			return 0, 0, corrupt("", "it ends inside the BMP header")
		}
		w, h = int(le16(data[18:])), int(le16(data[20:]))
		bpp = int(le16(data[24:]))
	default:
		if len(data) < 34 {
			return 0, 0, corrupt("", "it ends inside the BMP header")
		}
		w64, h64 := int64(int32(le32(data[18:]))), int64(int32(le32(data[22:])))
		if h64 < 0 {
			h64 = -h64 // negative height means rows stored top-down
		}
		if w64 < 0 {
			return 0, 0, corrupt("", "the BMP header has a negative width")
		}
		w, h = int(w64), int(h64)
		bpp = int(le16(data[28:]))
		if compression := le32(data[30:]); compression != 0 && compression != 3 {
			// Compressed pixel data has no fixed length; DecodeConfig
			// decides whether the variant is readable at all.
			return w, h, checkDims(w, h, lim)
		}
	}
	if err := checkDims(w, h, lim); err != nil {
		return 0, 0, err
	}
	switch bpp {
	case 1, 2, 4, 8, 16, 24, 32:
	default:
		return 0, 0, corrupt("", "the BMP header has an invalid bit depth")
	}
	offset := int64(le32(data[10:]))
	rowBytes := (int64(w)*int64(bpp) + 31) / 32 * 4
	if offset+rowBytes*int64(h) > int64(len(data)) {
		return 0, 0, corrupt("", "it ends before the BMP pixel data does")
	}
	if infoLen != 12 && bpp <= 8 && len(data) >= 50 {
		colours := int(le32(data[46:]))
		if colours == 0 {
			colours = 1 << bpp
		}
		pix := data[offset : offset+rowBytes*int64(h)]
		if err := checkBMPIndices(pix, int(rowBytes), w, bpp, colours); err != nil {
			return 0, 0, err
		}
	}
	return w, h, nil
}

// checkBMPIndices refuses a paletted BMP whose pixels name colours its
// palette does not have. x/image/bmp, the decoder the engine uses, refuses
// such a file, while other BMP readers paint those pixels with the first
// colour; checking here makes the verdict the same in the app and in the
// engine, and gives it in words. It reads each pixel byte once, through a
// table of the bytes whose every pixel is in range.
func checkBMPIndices(pix []byte, rowBytes, w, bpp, colours int) error {
	if colours >= 1<<bpp {
		return nil // every index is in range (DecodeConfig refuses larger palettes)
	}
	perByte := 8 / bpp
	mask := byte(1<<bpp - 1)
	var ok [256]bool
	for b := range ok {
		ok[b] = true
		for k := range perByte {
			if int(byte(b)>>(8-bpp*(k+1))&mask) >= colours {
				ok[b] = false
			}
		}
	}
	full, rest := w/perByte, w%perByte
	for row := 0; row+rowBytes <= len(pix); row += rowBytes {
		r := pix[row : row+rowBytes]
		for i := range full {
			if !ok[r[i]] {
				return badIndex(r[i], 0, perByte, bpp, mask, colours)
			}
		}
		if rest > 0 {
			if err := badIndex(r[full], 0, rest, bpp, mask, colours); err != nil {
				return err
			}
		}
	}
	return nil
}

// badIndex returns the refusal for the first of pixels [from, to) of byte b
// that is out of range, or nil.
func badIndex(b byte, from, to, bpp int, mask byte, colours int) error {
	for k := from; k < to; k++ {
		if idx := int(b >> (8 - bpp*(k+1)) & mask); idx >= colours {
			return corrupt("", fmt.Sprintf("a pixel uses colour %d of a %d-colour palette", idx, colours))
		}
	}
	return nil
}
