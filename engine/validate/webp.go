package validate

// checkWebP walks the RIFF chunks: the RIFF size must fit the file (a
// shorter file is truncated, a longer one has something appended), every
// chunk must fit the RIFF, animations are refused (the decoder reads still
// images only), and the dimensions from VP8X and from the VP8/VP8L frame
// header are checked against the caps and against each other before
// webp.DecodeConfig, which trusts VP8X alone, runs.
func checkWebP(data []byte, lim Limits) (w, h int, err error) {
	end := 8 + uint64(le32(data[4:]))
	if end > uint64(len(data)) {
		return 0, 0, corrupt("", "it ends before the WebP data does")
	}
	if end < 12 {
		return 0, 0, corrupt("", "the WebP size field is invalid")
	}
	var canvasW, canvasH, frameW, frameH int
	var extended, frame bool
	for pos := uint64(12); pos < end && !frame; {
		if end-pos < 8 {
			return 0, 0, corrupt("", "it ends inside a WebP chunk header")
		}
		id, n := string(data[pos:pos+4]), uint64(le32(data[pos+4:]))
		body := pos + 8
		if n > end-body {
			return 0, 0, corrupt("", "a WebP chunk is longer than the file")
		}
		chunk := data[body : body+n]
		switch id {
		case "VP8X":
			if pos != 12 || n < 10 {
				return 0, 0, corrupt("", "the WebP extended header is invalid")
			}
			extended = true
			canvasW = 1 + int(uint32(chunk[4])|uint32(chunk[5])<<8|uint32(chunk[6])<<16)
			canvasH = 1 + int(uint32(chunk[7])|uint32(chunk[8])<<8|uint32(chunk[9])<<16)
			if err := checkDims(canvasW, canvasH, lim); err != nil {
				return 0, 0, err
			}
			if chunk[0]&0x02 != 0 {
				return 0, 0, refuse("", ErrUnsupportedFormat, "is an animated WebP, which this app cannot read %s", supportedList)
			}
		case "ANIM", "ANMF":
			return 0, 0, refuse("", ErrUnsupportedFormat, "is an animated WebP, which this app cannot read %s", supportedList)
		case "VP8 ", "VP8L":
			if frameW, frameH, err = webpFrameSize(id, chunk); err != nil {
				return 0, 0, err
			}
			frame = true
		}
		pos = body + n + n&1 // chunks are padded to an even length
	}
	if !frame {
		return 0, 0, corrupt("", "the WebP has no image data")
	}
	if err := checkDims(frameW, frameH, lim); err != nil {
		return 0, 0, err
	}
	if extended && (frameW != canvasW || frameH != canvasH) {
		return 0, 0, corrupt("", "the WebP canvas and frame sizes differ")
	}
	if err := checkTrailer(WebP, data[end:]); err != nil {
		return 0, 0, err
	}
	return frameW, frameH, nil
}

// webpFrameSize reads the width and height of a VP8 key frame or a VP8L
// bitstream from its first bytes.
func webpFrameSize(id string, b []byte) (w, h int, err error) {
	if id == "VP8L" {
		if len(b) < 5 || b[0] != 0x2f {
			return 0, 0, corrupt("", "the WebP lossless header is invalid")
		}
		w = 1 + (int(b[1]) | int(b[2]&0x3f)<<8)
		h = 1 + (int(b[2]>>6) | int(b[3])<<2 | int(b[4]&0x0f)<<10)
		return w, h, nil
	}
	if len(b) < 10 || b[0]&1 != 0 || string(b[3:6]) != "\x9d\x01\x2a" {
		return 0, 0, corrupt("", "the WebP lossy header is invalid")
	}
	return int(le16(b[6:]) & 0x3fff), int(le16(b[8:]) & 0x3fff), nil
}
