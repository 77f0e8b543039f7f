//go:build unix

package validate

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"flag"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"
)

var (
	decodeCost    = flag.Bool("decode-cost", false, "measure what the worst files within the caps, and the bombs, cost to decode (minutes)")
	decodeCostDir = flag.String("decode-cost-dir", "", "with -decode-cost, also measure the images in this folder (e.g. cjpeg and cwebp output at the caps)")
	decodeCostRun = flag.String("decode-cost-run", "", "with -decode-cost, only the cases whose name contains this")
)

// TestDecodeCost prints, for each bomb and for the costliest honest files
// within the caps, validation's verdict and time and the CPU time the
// format's decoder takes on it (decoded even when refused, to show what the
// refusal saves). It asserts nothing: it is the measurement behind the
// budgets in jpeg.go and tiff.go.
//
//	go test ./engine/validate/ -run TestDecodeCost -v -args -decode-cost
func TestDecodeCost(t *testing.T) {
	if !*decodeCost {
		t.Skip("a measurement; run with -args -decode-cost")
	}
	type costCase struct {
		name string
		data func() []byte
	}
	atCap := func(sampling [][2]int, scans []jpegScan) func() []byte {
		return func() []byte {
			return buildJPEG(jpegSpec{w: 10000, h: 10000, sampling: sampling, progressive: true, scans: scans})
		}
	}
	cases := []costCase{
		{"jpeg progressive bomb (DC + 498 refinements)", progressiveBomb},
		{"jpeg refinement-only bomb (499 scans, 59 KB)", refineBomb},
		{"jpeg baseline bomb (171 scans, 67 MB)", baselineBomb},
		{"jpeg cjpeg script 4:2:0 at the cap", atCap(ycc420, libjpegProgression(3))},
		{"jpeg cjpeg script 4:4:4 at the cap", progressiveAtCap},
		{"jpeg worst accepted: 4:4:4 DC + 9 refinements", atCap(ycc444,
			repeatScan([]jpegScan{{comps: []int{0, 1, 2}, al: 1}}, acRefine, 9))},
		{"jpeg worst accepted: grey, 18 refinements", atCap(grey, repeatScan(nil, acRefine, 18))},
		{"jpeg just refused: grey, 19 refinements", atCap(grey, repeatScan(nil, acRefine, 19))},
		{"tiff 1.56 M 8×8 Deflate tiles", tinyTileBomb},
		{"tiff 1.56 M 8×8 uncompressed tiles", func() []byte { return tiffBlocks(10000, 10000, 8, 8, 1, make([]byte, 64)) }},
		{"tiff 65536 32×32 Deflate tiles (the cap)", func() []byte {
			return tiffBlocks(8192, 8192, 32, 32, 8, deflated(make([]byte, 1024)))
		}},
		{"tiff 16384 one-row Deflate strips", func() []byte {
			return tiffBlocks(6100, 16384, 0, 1, 8, deflated(make([]byte, 6100)))
		}},
		{"tiff grey 100 MP, one strip inflating to 800 MB", func() []byte {
			return tiffBlocks(10000, 10000, 0, 10000, 8, zlibZeros(800_000_000))
		}},
		{"tiff grey 100 MP, one honest Deflate strip", func() []byte {
			return tiffBlocks(10000, 10000, 0, 10000, 8, zlibZeros(100_000_000))
		}},
		{"png 100 MP RGBA 16-bit, zeros", func() []byte { return pngZeros(10000, 10000, 16, 6, false) }},
		{"png 100 MP RGBA 16-bit Adam7, zeros", func() []byte { return pngZeros(10000, 10000, 16, 6, true) }},
		{"png 100 MP RGBA 16-bit Adam7, Paeth on every row", func() []byte { return pngPaeth(10000, 10000, 16, 6, true) }},
		{"png 100 MP grey 1-bit Adam7, Paeth on every row", func() []byte { return pngPaeth(10000, 10000, 1, 0, true) }},
		{"bmp 100 MP 1-bit", func() []byte { return bmpIndexed(10000, 10000, 1, 2, 0, nil) }},
		{"bmp 64 MP 8-bit (the byte cap)", func() []byte { return bmpIndexed(8000, 8000, 8, 256, 0, nil) }},
	}
	if *decodeCostDir != "" {
		files, _ := filepath.Glob(filepath.Join(*decodeCostDir, "*"))
		for _, f := range files {
			cases = append(cases, costCase{filepath.Base(f), func() []byte {
				b, err := os.ReadFile(f)
				must(err)
				return b
			}})
		}
	}
	for _, c := range cases {
		if !strings.Contains(c.name, *decodeCostRun) {
			continue
		}
		data := c.data()
		start := time.Now()
		format, _ := Sniff(data)
		info, err := Bytes("case."+string(format), data, Limits{})
		check := time.Since(start)
		verdict := "accepted"
		if err != nil {
			verdict = strings.TrimPrefix(err.Error(), "refused: ")
		}
		cpu0 := cpuTime()
		_, derr := decodeAs(format, data)
		t.Logf("%-50s %7.1f MB  validation %6.1f ms  decode %6.2f s CPU  (%v; %s; %dx%d)",
			c.name, float64(len(data))/1e6, float64(check.Microseconds())/1e3, (cpuTime() - cpu0).Seconds(), derr, verdict, info.Width, info.Height)
	}
}

// decodeAs decodes with the format's own decoder, as the engine does.
func decodeAs(f Format, data []byte) (image.Image, error) {
	r := bytes.NewReader(data)
	switch f {
	case PNG:
		return png.Decode(r)
	case JPEG:
		return jpeg.Decode(r)
	case BMP:
		return bmp.Decode(r)
	case TIFF:
		return tiff.Decode(r)
	case WebP:
		return webp.Decode(r)
	}
	return nil, nil
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	must(syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// pngRows calls row for every filtered row of a w × h PNG with the given
// bits a pixel, pass by pass when interlaced, with its length in bytes.
func pngRows(w, h, bitsPerPixel int, interlaced bool, row func(n int)) {
	passes := [][4]int{{0, 0, 1, 1}}
	if interlaced {
		passes = [][4]int{{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}}
	}
	for _, p := range passes {
		pw, ph := (w-p[0]+p[2]-1)/p[2], (h-p[1]+p[3]-1)/p[3]
		if pw <= 0 || ph <= 0 {
			continue
		}
		for range ph {
			row(1 + (pw*bitsPerPixel+7)/8)
		}
	}
}

func pngHeader(w, h, depth, ctype int, interlaced bool, idat []byte) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	il := byte(0)
	if interlaced {
		il = 1
	}
	ihdr = append(ihdr, byte(depth), byte(ctype), 0, 0, il)
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	out.Write(pngChunk("IHDR", ihdr))
	for len(idat) > 0 { // IDAT chunks of at most 1 GiB
		n := min(len(idat), 1<<30)
		out.Write(pngChunk("IDAT", idat[:n]))
		idat = idat[n:]
	}
	out.Write(pngChunk("IEND", nil))
	return out.Bytes()
}

var pngChannels = map[int]int{0: 1, 2: 3, 4: 2, 6: 4}

// pngZeros is a PNG whose every filtered row is zeros (filter None, black).
func pngZeros(w, h, depth, ctype int, interlaced bool) []byte {
	total := 0
	pngRows(w, h, depth*pngChannels[ctype], interlaced, func(n int) { total += n })
	return pngHeader(w, h, depth, ctype, interlaced, zlibZeros(total))
}

// pngPaeth is a PNG whose every row uses the Paeth filter, the decoder's
// costliest, over zeros.
func pngPaeth(w, h, depth, ctype int, interlaced bool) []byte {
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestSpeed)
	bw := bufio.NewWriterSize(zw, 1<<20)
	var row []byte
	pngRows(w, h, depth*pngChannels[ctype], interlaced, func(n int) {
		if len(row) < n {
			row = make([]byte, n)
		}
		row[0] = 4
		bw.Write(row[:n])
	})
	must(bw.Flush())
	must(zw.Close())
	return pngHeader(w, h, depth, ctype, interlaced, z.Bytes())
}
