package validate

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"sync"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

// Fixtures: small valid images made by the standard encoders, and builders
// for hostile variants. Everything is generated, so nothing large is
// committed; the two WebP files are copied (see testdata/README.md) because
// Go has no WebP encoder.

// pattern is a small image with some structure, so encoders do real work.
func pattern(w, h int) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.SetNRGBA(x, y, color.NRGBA{uint8(x * 7), uint8(y * 5), uint8(x ^ y), 255})
		}
	}
	return m
}

// must panics on an encoder error, which cannot happen for these images.
func must(err error) {
	if err != nil {
		panic(err)
	}
}

var (
	validPNG = sync.OnceValue(func() []byte {
		var b bytes.Buffer
		must(png.Encode(&b, pattern(32, 24)))
		return b.Bytes()
	})
	validJPEG = sync.OnceValue(func() []byte { return encodeJPEG(32, 24) })
	validBMP  = sync.OnceValue(func() []byte {
		var b bytes.Buffer
		must(bmp.Encode(&b, pattern(20, 10)))
		return b.Bytes()
	})
	validTIFF = sync.OnceValue(func() []byte {
		var b bytes.Buffer
		must(tiff.Encode(&b, pattern(16, 12), &tiff.Options{Compression: tiff.Deflate}))
		return b.Bytes()
	})
	webpLossless = sync.OnceValue(func() []byte { return readTestdata("gopher-doc.1bpp.lossless.webp") })
	webpLossy    = sync.OnceValue(func() []byte { return readTestdata("blue-purple-pink.lossy.webp") })
	// pngZeroBomb is a PNG whose IDAT inflates to 1 GiB of zeros (about
	// 6.5 MB on disk) and whose IHDR admits it: 32767 × 32768 grey.
	bombIDAT    = sync.OnceValue(func() []byte { return zlibZeros(1 << 30) })
	pngZeroBomb = sync.OnceValue(func() []byte { return pngWith(32767, 32768, 0, bombIDAT()) })
)

func encodeJPEG(w, h int) []byte {
	var b bytes.Buffer
	must(jpeg.Encode(&b, pattern(w, h), &jpeg.Options{Quality: 80}))
	return b.Bytes()
}

func readTestdata(name string) []byte {
	b, err := os.ReadFile("testdata/" + name)
	must(err)
	return b
}

// cat joins byte slices into a new one.
func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// cut returns the first n bytes of a copy of b (n < 0 counts from the end).
func cut(b []byte, n int) []byte {
	if n < 0 {
		n += len(b)
	}
	return bytes.Clone(b[:n])
}

// pngChunk encodes one chunk with a correct CRC.
func pngChunk(typ string, body []byte) []byte {
	out := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	out = append(out, typ...)
	out = append(out, body...)
	return binary.BigEndian.AppendUint32(out, crc32.Update(crc32.ChecksumIEEE([]byte(typ)), crc32.IEEETable, body))
}

// pngWith builds a PNG with the given IHDR size and colour type around an
// IDAT stream (8-bit depth, every CRC valid).
func pngWith(w, h uint32, ctype byte, idat []byte) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, ctype, 0, 0, 0)
	return cat([]byte("\x89PNG\r\n\x1a\n"), pngChunk("IHDR", ihdr), pngChunk("IDAT", idat), pngChunk("IEND", nil))
}

// bitWriter writes a DEFLATE bit stream (least significant bit first).
type bitWriter struct {
	out  []byte
	acc  uint64
	nacc uint
}

func (b *bitWriter) bits(v uint64, n uint) {
	b.acc |= v << b.nacc
	b.nacc += n
	for b.nacc >= 8 {
		b.out = append(b.out, byte(b.acc))
		b.acc >>= 8
		b.nacc -= 8
	}
}

// code writes a Huffman code, which DEFLATE sends most significant bit first.
func (b *bitWriter) code(c uint64, n uint) {
	var r uint64
	for i := range n {
		r |= (c >> i & 1) << (n - 1 - i)
	}
	b.bits(r, n)
}

func (b *bitWriter) flush() []byte {
	if b.nacc > 0 {
		b.out = append(b.out, byte(b.acc))
	}
	return b.out
}

// zlibZeros returns a zlib stream that inflates to n zero bytes, built by
// hand with fixed Huffman codes: one literal zero, then copies of 258 bytes
// at distance 1 (13 bits each, the best DEFLATE can do: about 1:1000), then
// literals for the rest. Far faster than compressing n zeros.
func zlibZeros(n int) []byte {
	var b bitWriter
	b.out = make([]byte, 0, n/1290+64)
	b.out = append(b.out, 0x78, 0x01) // zlib header: deflate, 32 KiB window
	b.bits(1, 1)                      // BFINAL
	b.bits(1, 2)                      // BTYPE = fixed Huffman
	left := n
	if left > 0 {
		b.code(0x30, 8) // literal 0
		left--
	}
	for ; left >= 258; left -= 258 {
		b.code(0xc5, 8) // length code 285: 258 bytes
		b.code(0, 5)    // distance code 0: distance 1
	}
	for ; left > 0; left-- {
		b.code(0x30, 8)
	}
	b.code(0, 7) // end of block
	out := b.flush()
	adler := uint32(n%65521)<<16 | 1 // all zeros: a stays 1, b sums it n times
	return binary.BigEndian.AppendUint32(out, adler)
}

// jpegPatchSOF rewrites the frame size of a baseline JPEG.
func jpegPatchSOF(j []byte, w, h uint16) []byte {
	j = bytes.Clone(j)
	i := bytes.Index(j, []byte{0xff, 0xc0})
	binary.BigEndian.PutUint16(j[i+5:], h)
	binary.BigEndian.PutUint16(j[i+7:], w)
	return j
}

// jpegManyScans appends n empty copies of the image's SOS header before EOI.
func jpegManyScans(j []byte, n int) []byte {
	i := bytes.Index(j, []byte{0xff, 0xda})
	sos := j[i : i+2+int(binary.BigEndian.Uint16(j[i+2:]))]
	return cat(j[:len(j)-2], bytes.Repeat(sos, n), []byte{0xff, 0xd9})
}

// ifd is one TIFF field with an inline value.
type ifd struct {
	tag, typ uint16
	count    uint32
	value    uint32
}

// tiffWith builds a little-endian TIFF with one IFD of inline fields,
// followed by pixel data; tiffDataOffset tells where that data starts.
func tiffWith(fields []ifd, pixels []byte) []byte {
	out := []byte("II*\x00\x08\x00\x00\x00")
	out = binary.LittleEndian.AppendUint16(out, uint16(len(fields)))
	for _, f := range fields {
		out = binary.LittleEndian.AppendUint16(out, f.tag)
		out = binary.LittleEndian.AppendUint16(out, f.typ)
		out = binary.LittleEndian.AppendUint32(out, f.count)
		out = binary.LittleEndian.AppendUint32(out, f.value)
	}
	out = binary.LittleEndian.AppendUint32(out, 0) // no next IFD
	return append(out, pixels...)
}

func tiffDataOffset(nfields int) uint32 { return uint32(8 + 2 + 12*nfields + 4) }

// tiffGray builds a w × h 8-bit grey TIFF with rowsPerStrip and the given
// strip table (count entries at the data offset when count > 1).
func tiffGray(w, h, rowsPerStrip uint32, stripCount uint32, pixels []byte) []byte {
	const n = 9
	off := tiffDataOffset(n)
	return tiffWith([]ifd{
		{256, 4, 1, w},
		{257, 4, 1, h},
		{258, 3, 1, 8},
		{259, 3, 1, 1},
		{262, 3, 1, 1},
		{273, 4, stripCount, off},
		{277, 3, 1, 1},
		{278, 4, 1, rowsPerStrip},
		{279, 4, stripCount, uint32(len(pixels))},
	}, pixels)
}

// bmpPatchSize rewrites the width and height of a BMP.
func bmpPatchSize(b []byte, w, h int32) []byte {
	b = bytes.Clone(b)
	binary.LittleEndian.PutUint32(b[18:], uint32(w))
	binary.LittleEndian.PutUint32(b[22:], uint32(h))
	return b
}

// riff wraps chunks in a RIFF WEBP container.
func riff(chunks ...[]byte) []byte {
	body := cat(append([][]byte{[]byte("WEBP")}, chunks...)...)
	return cat([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(len(body))), body)
}

// riffChunk encodes one chunk, padded to an even length.
func riffChunk(id string, body []byte) []byte {
	out := cat([]byte(id), binary.LittleEndian.AppendUint32(nil, uint32(len(body))), body)
	if len(body)%2 == 1 {
		out = append(out, 0)
	}
	return out
}

// vp8x is an extended-format header chunk with the given flags and canvas.
func vp8x(flags byte, w, h int) []byte {
	b := []byte{flags, 0, 0, 0}
	b = append(b, byte(w-1), byte((w-1)>>8), byte((w-1)>>16))
	b = append(b, byte(h-1), byte((h-1)>>8), byte((h-1)>>16))
	return riffChunk("VP8X", b)
}

// webpFrameChunk returns the first chunk (VP8L or VP8) of a simple WebP.
func webpFrameChunk(w []byte) []byte {
	n := binary.LittleEndian.Uint32(w[16:])
	return riffChunk(string(w[12:16]), w[20:20+n])
}

// smallZIP is a tiny real ZIP archive.
var smallZIP = sync.OnceValue(func() []byte {
	var b bytes.Buffer
	z := zip.NewWriter(&b)
	w, err := z.Create("payload.sh")
	must(err)
	_, err = w.Write([]byte("#!/bin/sh\necho hidden\n"))
	must(err)
	must(z.Close())
	return b.Bytes()
})
