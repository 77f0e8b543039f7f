// Package fastpng encodes 8-bit RGBA and grey images as PNG using every core: the rows are
// cut into strips that are filtered and deflated in parallel, and the compressed strips are
// joined into one zlib stream (each strip but the last ends on a byte-aligned sync flush, so
// the joined stream is valid; the Adler-32 checksums of the strips are combined).
//
// It trades the standard encoder's per-row choice among five filters for one fixed filter,
// which is most of the standard encoder's time on large photos: Up (the row above
// subtracted, eight bytes at a time) at BestSpeed, Paeth otherwise. On real photos cut out
// with their ground-truth mattes Up costs 2.3 % in size and almost nothing in time; Paeth
// costs about 12 ns a pixel on one core. Deflate is klauspost/compress's, 1.8× faster than
// the standard library's at level 1 on these images. Output decodes with any PNG decoder.
// It never decodes anything.
package fastpng

import (
	"bufio"
	"encoding/binary"
	"errors"
	"hash/adler32"
	"hash/crc32"
	"image"
	"io"
	"sync"

	"cutout/internal/parallel"

	"github.com/klauspost/compress/flate"
)

// stripRows is the height of a strip: big enough that the deflate dictionary reset at each
// strip boundary costs little, small enough to spread over the cores.
const stripRows = 128

// Encode writes img (an *image.NRGBA or *image.Gray) to w as PNG at the given flate level
// (flate.BestSpeed … flate.BestCompression).
func Encode(w io.Writer, img image.Image, level int) error {
	var pix []byte
	var stride, bpp int
	b := img.Bounds()
	width, height := b.Dx(), b.Dy()
	switch m := img.(type) {
	case *image.NRGBA:
		pix, stride, bpp = m.Pix[m.PixOffset(b.Min.X, b.Min.Y):], m.Stride, 4
	case *image.Gray:
		pix, stride, bpp = m.Pix[m.PixOffset(b.Min.X, b.Min.Y):], m.Stride, 1
	default:
		return errors.New("fastpng: only *image.NRGBA and *image.Gray are supported")
	}
	rows := func(y int, _ []byte) []byte { return pix[y*stride : y*stride+width*bpp] }
	return EncodeRows(w, width, height, bpp == 1, level, rows)
}

// EncodeRows is Encode for an image made row by row as it is encoded: rows(y, scratch)
// returns row y (8-bit RGBA, or grey when gray), in scratch (room for one row) or in memory of
// its own. It is called from several goroutines at once, once for most rows and twice for
// the row above each strip, so the image never has to exist whole.
func EncodeRows(w io.Writer, width, height int, gray bool, level int, rows func(y int, scratch []byte) []byte) error {
	bpp, colorType := 4, byte(6)
	if gray {
		bpp, colorType = 1, 0
	}
	if level < flate.HuffmanOnly || level > flate.BestCompression {
		return errors.New("fastpng: compression level out of range")
	}
	if width <= 0 || height <= 0 || width > 1<<30/bpp || height > 1<<30 {
		return errors.New("fastpng: image size out of range")
	}
	filter := appendPaeth
	if level == flate.BestSpeed {
		filter = appendUp
	}
	strips := compressStrips(rows, width, height, bpp, level, filter)

	bw := bufio.NewWriterSize(w, 1<<20)
	bw.WriteString("\x89PNG\r\n\x1a\n")
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], uint32(width))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(height))
	ihdr[8], ihdr[9] = 8, colorType // bit depth 8; compression, filter, interlace 0
	writeChunk(bw, "IHDR", ihdr[:])

	// One zlib stream across IDAT chunks: header, the strips' deflate data, Adler-32.
	sum := uint32(1)
	zlib := [][]byte{{0x78, 0x01}}
	for _, s := range strips {
		zlib = append(zlib, s.data)
		sum = adler32Combine(sum, s.adler, s.n)
	}
	zlib = append(zlib, binary.BigEndian.AppendUint32(nil, sum))
	for _, part := range zlib {
		for len(part) > 0 {
			n := min(len(part), 1<<20)
			writeChunk(bw, "IDAT", part[:n])
			part = part[n:]
		}
	}
	writeChunk(bw, "IEND", nil)
	return bw.Flush()
}

type strip struct {
	data  []byte // raw deflate, sync-flushed (or final for the last strip)
	adler uint32 // Adler-32 of the filtered bytes
	n     int    // how many filtered bytes
}

// flaters keeps deflate writers per level (flate.HuffmanOnly … flate.BestCompression).
var flaters [12]sync.Pool

// filterFunc appends a row's filter-type byte and filtered bytes to dst (prev is nil for the
// first row); dst has room for them.
type filterFunc func(dst, row, prev []byte, bpp int) []byte

func compressStrips(rows func(y int, scratch []byte) []byte, width, height, bpp, level int, filter filterFunc) []strip {
	count := (height + stripRows - 1) / stripRows
	out := make([]strip, count)
	parallel.Workers(count, func() func(lo, hi int) {
		rowLen := width * bpp
		filtered := make([]byte, 0, stripRows*(1+rowLen))
		// Two row buffers in turn: the row and the one above it (which the filter reads).
		scratch := [2][]byte{make([]byte, rowLen), make([]byte, rowLen)}
		return func(lo, hi int) {
			for i := lo; i < hi; i++ {
				y0, y1 := i*stripRows, min((i+1)*stripRows, height)
				filtered = filtered[:0]
				var prev []byte
				if y0 > 0 {
					prev = rows(y0-1, scratch[(y0-1)%2])
				}
				for y := y0; y < y1; y++ {
					row := rows(y, scratch[y%2])
					filtered = filter(filtered, row[:rowLen], prev, bpp)
					prev = row
				}
				out[i] = deflateStrip(filtered, level, i == count-1)
			}
		}
	})
	return out
}

type sliceWriter struct{ b []byte }

func (s *sliceWriter) Write(p []byte) (int, error) {
	s.b = append(s.b, p...)
	return len(p), nil
}

func deflateStrip(filtered []byte, level int, last bool) strip {
	sw := &sliceWriter{b: make([]byte, 0, len(filtered)/3+64)}
	pool := &flaters[level-flate.HuffmanOnly]
	fw, _ := pool.Get().(*flate.Writer)
	if fw == nil {
		fw, _ = flate.NewWriter(sw, level)
	} else {
		fw.Reset(sw)
	}
	fw.Write(filtered)
	if last {
		fw.Close()
	} else {
		fw.Flush() // byte-aligned, not final: the next strip's data follows
	}
	pool.Put(fw)
	return strip{data: sw.b, adler: adler32.Checksum(filtered), n: len(filtered)}
}

// appendUp appends the filter-type byte and the row minus the row above (PNG filter 2),
// byte-wise modulo 256, eight bytes at a time.
func appendUp(dst, row, prev []byte, _ int) []byte {
	n := len(dst)
	dst = dst[:n+1+len(row)]
	out := dst[n+1:]
	dst[n] = 2
	if prev == nil {
		copy(out, row) // above is all zero
		return dst
	}
	prev = prev[:len(row)]
	const high = 0x8080808080808080
	i := 0
	for ; i+8 <= len(row); i += 8 {
		x := binary.LittleEndian.Uint64(row[i:])
		y := binary.LittleEndian.Uint64(prev[i:])
		// Per-byte x−y: the high bits are set aside so no borrow crosses a byte.
		binary.LittleEndian.PutUint64(out[i:], ((x|high)-(y&^high))^((x^^y)&high))
	}
	for ; i < len(row); i++ {
		out[i] = row[i] - prev[i]
	}
	return dst
}

// appendPaeth appends the filter-type byte and the Paeth-filtered row (PNG filter 4). dst
// must have room for them (its capacity is never outgrown, so nothing is zeroed first).
func appendPaeth(dst, row, prev []byte, bpp int) []byte {
	n := len(dst)
	dst = dst[:n+1+len(row)]
	out := dst[n+1:]
	dst[n] = 4
	if prev == nil {
		// Above is all zero: Paeth reduces to Sub.
		copy(out[:bpp], row)
		for i := bpp; i < len(row); i++ {
			out[i] = row[i] - row[i-bpp]
		}
		return dst
	}
	prev = prev[:len(row)]
	for i := 0; i < bpp && i < len(row); i++ {
		out[i] = row[i] - prev[i] // left and upper-left are zero: Paeth picks above
	}
	if bpp == 4 {
		paeth4(out, row, prev)
		return dst
	}
	for i := bpp; i < len(row); i++ {
		out[i] = row[i] - paethPredict(row[i-bpp], prev[i], prev[i-bpp])
	}
	return dst
}

// paeth4 filters an RGBA row from its second pixel on. Where the pixel to the left, the one
// above and the one above-left are all zero (the transparent background of a cut-out, often
// half the image), the predictor is zero and the pixel is copied as it is.
func paeth4(out, row, prev []byte) {
	for i := 4; i+4 <= len(row); i += 4 {
		left := binary.LittleEndian.Uint32(row[i-4:])
		above := binary.LittleEndian.Uint64(prev[i-4:]) // above-left and above
		if left == 0 && above>>32 == 0 && uint32(above) == 0 {
			copy(out[i:i+4], row[i:i+4])
			continue
		}
		o, r, p := out[i:i+4:i+4], row[i:i+4:i+4], prev[i-4:i+4:i+4]
		o[0] = r[0] - paethPredict(row[i-4], p[4], p[0])
		o[1] = r[1] - paethPredict(row[i-3], p[5], p[1])
		o[2] = r[2] - paethPredict(row[i-2], p[6], p[2])
		o[3] = r[3] - paethPredict(row[i-1], p[7], p[3])
	}
}

// paethPredict is the PNG Paeth predictor of a pixel from its left (a), upper (b) and
// upper-left (c) neighbours.
func paethPredict(a, b, c byte) byte {
	pa := int(b) - int(c)
	pb := int(a) - int(c)
	pc := abs(pa + pb)
	pa, pb = abs(pa), abs(pb)
	// Without branches (conditional moves): photo data makes them unpredictable.
	pred := c
	if pb <= pc {
		pred = b
	}
	if pa <= min(pb, pc) {
		pred = a
	}
	return pred
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func writeChunk(w *bufio.Writer, typ string, data []byte) {
	var head [8]byte
	binary.BigEndian.PutUint32(head[:4], uint32(len(data)))
	copy(head[4:], typ)
	w.Write(head[:])
	w.Write(data)
	crc := crc32.NewIEEE()
	crc.Write(head[4:])
	crc.Write(data)
	w.Write(binary.BigEndian.AppendUint32(nil, crc.Sum32()))
}

// adler32Combine returns the Adler-32 of A‖B from adler(A), adler(B) and len(B).
func adler32Combine(a, b uint32, lenB int) uint32 {
	const mod = 65521
	rem := uint64(lenB % mod)
	a1, a2 := uint64(a&0xffff), uint64(a>>16)
	b1, b2 := uint64(b&0xffff), uint64(b>>16)
	s1 := (a1 + b1 + mod - 1) % mod
	s2 := (a2 + b2 + rem*a1 + mod - rem) % mod
	return uint32(s2<<16 | s1)
}
