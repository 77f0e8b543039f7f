package validate

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"slices"
)

// tiffBlocks builds a little-endian 8-bit grey TIFF of w × h whose strips
// (bw = 0: bh rows each) or bw × bh tiles all point at the same payload, so
// a table of millions of blocks costs only its 8 bytes a block. payload is
// one block's data in the given compression (1 none, 5 LZW, 8 Deflate,
// 32773 PackBits).
func tiffBlocks(w, h, bw, bh int, compression uint16, payload []byte) []byte {
	n := (h + bh - 1) / bh
	if bw > 0 {
		n *= (w + bw - 1) / bw
	}
	type field struct {
		tag, typ uint16
		count    uint32
		value    uint32
	}
	fields := []field{
		{256, 4, 1, uint32(w)}, {257, 4, 1, uint32(h)}, {258, 3, 1, 8}, {259, 3, 1, uint32(compression)},
		{262, 3, 1, 1}, {277, 3, 1, 1},
	}
	offTag, cntTag := uint16(273), uint16(279)
	if bw > 0 {
		fields = append(fields, field{322, 4, 1, uint32(bw)}, field{323, 4, 1, uint32(bh)})
		offTag, cntTag = 324, 325
	} else {
		fields = append(fields, field{278, 4, 1, uint32(bh)})
	}
	// The two tables follow the directory, then the payload.
	dir := 8 + 2 + 12*(len(fields)+2) + 4
	offs, cnts := uint32(dir), uint32(dir+4*n)
	data := uint32(dir + 8*n)
	if n == 1 { // one value is stored inline
		data = uint32(dir)
		offs, cnts = data, uint32(len(payload))
	}
	fields = append(fields, field{offTag, 4, uint32(n), offs}, field{cntTag, 4, uint32(n), cnts})
	slices.SortFunc(fields, func(a, b field) int { return int(a.tag) - int(b.tag) })

	out := bytes.NewBuffer(make([]byte, 0, int(data)+len(payload)))
	out.WriteString("II*\x00\x08\x00\x00\x00")
	le := binary.LittleEndian
	out.Write(le.AppendUint16(nil, uint16(len(fields))))
	for _, f := range fields {
		var e [12]byte
		le.PutUint16(e[0:], f.tag)
		le.PutUint16(e[2:], f.typ)
		le.PutUint32(e[4:], f.count)
		le.PutUint32(e[8:], f.value)
		out.Write(e[:])
	}
	out.Write(make([]byte, 4)) // no next directory
	if n > 1 {
		out.Write(bytes.Repeat(le.AppendUint32(nil, data), n))
		out.Write(bytes.Repeat(le.AppendUint32(nil, uint32(len(payload))), n))
	}
	out.Write(payload)
	return out.Bytes()
}

// deflated is b compressed with zlib.
func deflated(b []byte) []byte {
	var out bytes.Buffer
	z := zlib.NewWriter(&out)
	z.Write(b)
	z.Close()
	return out.Bytes()
}

// tiffLZWZeros is a TIFF LZW stream of n zero bytes, written literally:
// ClearCode, n codes for byte 0, EndOfInformation, in 9-bit codes most
// significant bit first (n stays small enough that the width never grows).
func tiffLZWZeros(n int) []byte {
	codes := append(append([]uint32{256}, make([]uint32, n)...), 257)
	var out []byte
	var acc uint64
	var nacc uint
	for _, c := range codes {
		acc = acc<<9 | uint64(c)
		nacc += 9
		for nacc >= 8 {
			nacc -= 8
			out = append(out, byte(acc>>nacc))
		}
	}
	if nacc > 0 {
		out = append(out, byte(acc<<(8-nacc)))
	}
	return out
}
