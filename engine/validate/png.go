package validate

import (
	"fmt"
	"hash/crc32"
)

// checkPNG parses IHDR itself, checks the caps, then walks every chunk up to
// IEND checking lengths and CRCs. It never inflates IDAT.
//
// Why that is enough against decompression bombs: a PNG's IDAT stream can
// inflate at about 1000:1, so a 1 MiB file can hold a gigabyte of zeros.
//   - If IHDR claims dimensions big enough to hold that gigabyte, the
//     dimension and pixel caps refuse the file here, from the header alone.
//   - If IHDR is honest and small, the decoder (image/png, in the engine)
//     reads exactly height × (1 + rowbytes) bytes of inflated data per pass
//     and then one more byte to detect "too much pixel data"; it never
//     inflates the rest. Work and memory are bounded by the dimensions,
//     which the caps already bound.
//
// So the caps on the claimed dimensions bound decoding either way, and this
// check need not (and, in the main process, must not) inflate anything.
func checkPNG(data []byte, lim Limits) (w, h int, err error) {
	const sigLen = 8
	p := data[sigLen:]
	if len(p) < 8+13+4 {
		return 0, 0, corrupt("", "it ends inside the PNG header")
	}
	if be32(p) != 13 || string(p[4:8]) != "IHDR" {
		return 0, 0, corrupt("", "the first PNG chunk is not a valid IHDR")
	}
	if crc32.ChecksumIEEE(p[4:8+13]) != be32(p[8+13:]) {
		return 0, 0, corrupt("", "the PNG header checksum is wrong")
	}
	ihdr := p[8 : 8+13]
	w32, h32 := be32(ihdr[0:]), be32(ihdr[4:])
	if w32 > 1<<31-1 || h32 > 1<<31-1 {
		// The PNG specification caps both at 2^31-1; beyond is not PNG.
		return 0, 0, corrupt("", "the PNG header's dimensions are out of range")
	}
	w, h = int(w32), int(h32)
	if err := checkDims(w, h, lim); err != nil {
		return 0, 0, err
	}
	if err := checkIHDRFields(ihdr[8], ihdr[9], ihdr[10], ihdr[11], ihdr[12]); err != nil {
		return 0, 0, err
	}
	if err := walkPNGChunks(data, sigLen, ihdr[9]); err != nil {
		return 0, 0, err
	}
	return w, h, nil
}

// checkIHDRFields checks bit depth, colour type and methods against the
// combinations the PNG specification allows.
func checkIHDRFields(depth, ctype, compression, filter, interlace byte) error {
	ok := false
	switch ctype {
	case 0:
		ok = depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16
	case 3:
		ok = depth == 1 || depth == 2 || depth == 4 || depth == 8
	case 2, 4, 6:
		ok = depth == 8 || depth == 16
	}
	if !ok {
		return corrupt("", fmt.Sprintf("PNG colour type %d with bit depth %d is not valid", ctype, depth))
	}
	if compression != 0 || filter != 0 || interlace > 1 {
		return corrupt("", "the PNG header names an unknown method")
	}
	return nil
}

// walkPNGChunks checks every chunk's length and CRC, that image data is
// present, that an indexed image has a palette, and that the file ends at
// IEND (apart from padding).
func walkPNGChunks(data []byte, pos int, ctype byte) error {
	var idat, plte bool
	for {
		if len(data)-pos < 12 {
			return corrupt("", "it ends before the PNG end marker")
		}
		n := be32(data[pos:])
		typ := data[pos+4 : pos+8]
		if n > 1<<31-1 || uint64(n) > uint64(len(data)-pos-12) {
			return corrupt("", "it ends inside a PNG chunk")
		}
		for _, c := range typ {
			if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
				return corrupt("", "a PNG chunk has an invalid name")
			}
		}
		body := data[pos+8 : pos+8+int(n)]
		want := be32(data[pos+8+int(n):])
		if crc32.Update(crc32.ChecksumIEEE(typ), crc32.IEEETable, body) != want {
			return corrupt("", fmt.Sprintf("the checksum of PNG chunk %q is wrong", typ))
		}
		pos += 12 + int(n)
		switch string(typ) {
		case "IDAT":
			idat = true
		case "PLTE":
			plte = true
		case "IEND":
			if !idat {
				return corrupt("", "the PNG has no image data")
			}
			if ctype == 3 && !plte {
				return corrupt("", "the indexed PNG has no palette")
			}
			return checkTrailer(PNG, data[pos:])
		}
	}
}

// checkTrailer refuses data after a format's declared end: a PNG or WebP
// with a ZIP (or anything else) appended is two files at once, which no
// camera or editor produces. Padding (zeros, white space) is tolerated.
func checkTrailer(f Format, tail []byte) error {
	padding := true
	for _, c := range tail {
		if c != 0 && c != ' ' && c != '\n' && c != '\r' && c != '\t' {
			padding = false
			break
		}
	}
	if padding {
		return nil
	}
	return refuse("", ErrUnsupportedFormat, "is %s image with %s appended after its end; combined files are refused",
		f.a(), describeAppended(tail))
}

// describeAppended names what was found after the end of an image.
func describeAppended(tail []byte) string {
	if f, err := Sniff(tail); err == nil {
		return f.a() + " image"
	}
	if name, _ := recognise(tail[:min(len(tail), SniffLen)]); name != "" && name != "a text file" {
		return name
	}
	return formatBytes(int64(len(tail))) + " of other data"
}
