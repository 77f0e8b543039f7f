package validate

// checkBMP reads the dimensions from the BMP header itself, so that absurd
// values are refused as ErrDimensions (x/image/bmp calls a header whose
// pixel buffer would overflow "unsupported"), and checks that an
// uncompressed file really holds the pixel rows its header promises.
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
	return w, h, nil
}
