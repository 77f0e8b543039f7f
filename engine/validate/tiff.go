package validate

import (
	"encoding/binary"
	"fmt"
)

// TIFF tags that the decoder reads; their values must lie inside the file.
const (
	tagImageWidth      = 256
	tagImageLength     = 257
	tagRowsPerStrip    = 278
	tagStripOffsets    = 273
	tagStripByteCounts = 279
	tagTileWidth       = 322
	tagTileLength      = 323
	tagTileOffsets     = 324
	tagTileByteCounts  = 325
)

// maxTIFFBlocks caps the strips or tiles of a TIFF. x/image/tiff sets up a
// decompressor for each block (about 12 µs for Deflate, 8 for LZW, 0.6
// uncompressed), so 1.56 million 8 × 8 tiles over 100 megapixels cost 20 s
// before a single pixel is worth it. Encoders cut 100 megapixels into about
// 1,500 tiles of 256 × 256 or, as strips, at most one per row (16,384 at the
// height cap); 65,536 admits 32 × 32 tiles up to 67 megapixels and 64 × 64
// at any size, for at most 0.8 s of per-block work.
const maxTIFFBlocks = 1 << 16

// tiffTypeSize is the size in bytes of each TIFF field type (0: unknown).
var tiffTypeSize = [...]uint64{0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4}

// tiffEntry is one field of an IFD: type, count, and where its values are.
type tiffEntry struct {
	typ   uint16
	count uint64
	vals  []byte // the values, inline or at their offset; nil if unknown type
}

// checkTIFF walks the first IFD (the only one the decoder reads): every
// field's values must lie inside the file, the dimensions are checked
// against the caps before DecodeConfig runs, and the strip or tile tables
// must have as many entries as the image needs, each pointing inside the
// file. A TIFF claiming billions of strips is refused here, from
// arithmetic on its header, without allocating anything.
func checkTIFF(data []byte, lim Limits) (w, h int, err error) {
	var bo binary.ByteOrder = binary.LittleEndian
	if data[0] == 'M' {
		bo = binary.BigEndian
	}
	if len(data) < 8 {
		return 0, 0, corrupt("", "it ends inside the TIFF header")
	}
	ifd := uint64(bo.Uint32(data[4:]))
	if ifd < 8 || ifd+2 > uint64(len(data)) {
		return 0, 0, corrupt("", "the TIFF directory lies outside the file")
	}
	n := uint64(bo.Uint16(data[ifd:]))
	if ifd+2+12*n > uint64(len(data)) {
		return 0, 0, corrupt("", "it ends inside the TIFF directory")
	}
	fields := make(map[uint16]tiffEntry, n)
	for i := range n {
		e := data[ifd+2+12*i : ifd+2+12*(i+1)]
		tag, typ, count := bo.Uint16(e), bo.Uint16(e[2:]), uint64(bo.Uint32(e[4:]))
		entry := tiffEntry{typ: typ, count: count}
		if int(typ) < len(tiffTypeSize) && tiffTypeSize[typ] != 0 {
			size := tiffTypeSize[typ] * count
			if size <= 4 {
				entry.vals = e[8 : 8+size]
			} else {
				off := uint64(bo.Uint32(e[8:]))
				if off+size > uint64(len(data)) {
					if decoderTag(tag) {
						return 0, 0, corrupt("", "a TIFF field points outside the file")
					}
					continue // a field the decoder ignores, such as a broken description
				}
				entry.vals = data[off : off+size]
			}
		}
		fields[tag] = entry
	}
	w64, okW := tiffFirst(fields[tagImageWidth], bo)
	h64, okH := tiffFirst(fields[tagImageLength], bo)
	if !okW || !okH {
		return 0, 0, corrupt("", "the TIFF has no image size")
	}
	if w64 > 1<<31-1 || h64 > 1<<31-1 {
		return 0, 0, refuse("", ErrDimensions, "claims %d × %d pixels, the limit is %d × %d",
			w64, h64, lim.MaxWidth, lim.MaxHeight)
	}
	w, h = int(w64), int(h64)
	if err := checkDims(w, h, lim); err != nil {
		return 0, 0, err
	}
	return w, h, checkTIFFBlocks(data, fields, bo, w64, h64)
}

// checkTIFFBlocks checks that the strip (or tile) tables cover the image and
// that every block lies inside the file.
func checkTIFFBlocks(data []byte, fields map[uint16]tiffEntry, bo binary.ByteOrder, w, h uint64) error {
	offTag, cntTag := uint16(tagStripOffsets), uint16(tagStripByteCounts)
	var blocks uint64
	kind := "strips"
	if tw, ok := tiffFirst(fields[tagTileWidth], bo); ok && tw != 0 {
		th, ok := tiffFirst(fields[tagTileLength], bo)
		if !ok || th == 0 {
			return corrupt("", "the TIFF tile size is invalid")
		}
		if tw < 8 || th < 8 {
			// The decoder refuses these itself, for the same reason as
			// maxTIFFBlocks; the specification wants multiples of 16.
			return corrupt("", fmt.Sprintf("the TIFF tiles are %d × %d pixels, smaller than the 8 × 8 the decoder accepts", tw, th))
		}
		offTag, cntTag, kind = tagTileOffsets, tagTileByteCounts, "tiles"
		blocks = ((w + tw - 1) / tw) * ((h + th - 1) / th)
	} else {
		rows, ok := tiffFirst(fields[tagRowsPerStrip], bo)
		if !ok || rows == 0 || rows > h {
			rows = h
		}
		blocks = (h + rows - 1) / rows
	}
	if blocks > maxTIFFBlocks {
		return tooComplex(fmt.Sprintf("it is cut into %d %s, each decompressed on its own, and the limit is %d", blocks, kind, maxTIFFBlocks))
	}
	offs, cnts := fields[offTag], fields[cntTag]
	if offs.vals == nil || cnts.vals == nil {
		return corrupt("", "the TIFF has no table of image data")
	}
	if offs.count != cnts.count || offs.count < blocks {
		return corrupt("", "the TIFF's tables of image data do not match its size")
	}
	for i := range blocks {
		off, ok1 := tiffValue(offs, bo, i)
		cnt, ok2 := tiffValue(cnts, bo, i)
		if !ok1 || !ok2 || off+cnt > uint64(len(data)) {
			return corrupt("", "TIFF image data lies outside the file")
		}
	}
	return nil
}

// decoderTag reports the tags x/image/tiff reads; other fields may be broken
// without harm, as the decoder never looks at them.
func decoderTag(tag uint16) bool {
	switch tag {
	case 256, 257, 258, 259, 262, 266, 273, 277, 278, 279, 284, 317, 320,
		322, 323, 324, 325, 338, 339:
		return true
	}
	return false
}

// tiffFirst returns the first value of an integer field.
func tiffFirst(e tiffEntry, bo binary.ByteOrder) (uint64, bool) {
	return tiffValue(e, bo, 0)
}

// tiffValue returns value i of a BYTE, SHORT or LONG field.
func tiffValue(e tiffEntry, bo binary.ByteOrder, i uint64) (uint64, bool) {
	if i >= e.count || e.vals == nil {
		return 0, false
	}
	switch e.typ {
	case 1: // BYTE
		return uint64(e.vals[i]), true
	case 3: // SHORT
		return uint64(bo.Uint16(e.vals[2*i:])), true
	case 4: // LONG
		return uint64(bo.Uint32(e.vals[4*i:])), true
	}
	return 0, false
}
