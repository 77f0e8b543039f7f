// Package fastpng encodes 8-bit RGBA and grey images as PNG using every core: the rows are
// cut into strips that are filtered and deflated in parallel, and the compressed strips are
// joined into one zlib stream (each strip but the last ends on a byte-aligned sync flush, so
// the joined stream is valid; the Adler-32 checksums of the strips are combined).
//
// It trades the standard encoder's per-row choice among five filters for one fixed filter,
// which is most of the standard encoder's time on large photos. Output decodes with any PNG
// decoder. It never decodes anything.
package fastpng

import (
	"bufio"
	"compress/flate"
	"encoding/binary"
	"errors"
	"hash/adler32"
	"hash/crc32"
	"image"
	"io"
	"runtime"
	"sync"
)

// stripRows is the height of a strip: big enough that the deflate dictionary reset at each
// strip boundary costs little, small enough to spread over the cores.
const stripRows = 128

// Encode writes img (an *image.NRGBA or *image.Gray) to w as PNG at the given flate level
// (flate.BestSpeed … flate.BestCompression).
func Encode(w io.Writer, img image.Image, level int) error {
	var pix []byte
	var stride, bpp int
	var colorType byte
	b := img.Bounds()
	width, height := b.Dx(), b.Dy()
	switch m := img.(type) {
	case *image.NRGBA:
		pix, stride, bpp, colorType = m.Pix[m.PixOffset(b.Min.X, b.Min.Y):], m.Stride, 4, 6
	case *image.Gray:
		pix, stride, bpp, colorType = m.Pix[m.PixOffset(b.Min.X, b.Min.Y):], m.Stride, 1, 0
	default:
		return errors.New("fastpng: only *image.NRGBA and *image.Gray are supported")
	}
	if level < flate.HuffmanOnly || level > flate.BestCompression {
		return errors.New("fastpng: compression level out of range")
	}
	if width <= 0 || height <= 0 || width > 1<<30/bpp || height > 1<<30 {
		return errors.New("fastpng: image size out of range")
	}
	strips := compressStrips(pix, stride, width, height, bpp, level)

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

func compressStrips(pix []byte, stride, width, height, bpp, level int) []strip {
	count := (height + stripRows - 1) / stripRows
	out := make([]strip, count)
	next := make(chan int, count)
	for i := 0; i < count; i++ {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	for g := 0; g < min(runtime.GOMAXPROCS(0), count); g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rowLen := 1 + width*bpp
			filtered := make([]byte, 0, stripRows*rowLen)
			for i := range next {
				y0, y1 := i*stripRows, min((i+1)*stripRows, height)
				filtered = filtered[:0]
				for y := y0; y < y1; y++ {
					row := pix[y*stride : y*stride+width*bpp]
					var prev []byte
					if y > 0 {
						prev = pix[(y-1)*stride : (y-1)*stride+width*bpp]
					}
					filtered = appendPaeth(filtered, row, prev, bpp)
				}
				out[i] = deflateStrip(filtered, level, i == count-1)
			}
		}()
	}
	wg.Wait()
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

// appendPaeth appends the filter-type byte and the Paeth-filtered row (PNG filter 4).
func appendPaeth(dst, row, prev []byte, bpp int) []byte {
	n := len(dst)
	dst = append(dst, make([]byte, 1+len(row))...)
	out := dst[n+1 : n+1+len(row)]
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
	for i := bpp; i < len(row); i++ {
		a, b, c := int32(row[i-bpp]), int32(prev[i]), int32(prev[i-bpp])
		pa := b - c
		pb := a - c
		pc := pa + pb
		pa = (pa ^ (pa >> 31)) - (pa >> 31)
		pb = (pb ^ (pb >> 31)) - (pb >> 31)
		pc = (pc ^ (pc >> 31)) - (pc >> 31)
		pred := c
		if pa <= pb && pa <= pc {
			pred = a
		} else if pb <= pc {
			pred = b
		}
		out[i] = row[i] - byte(pred)
	}
	return dst
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
