package validate

import (
	"bytes"
	"fmt"
	"slices"
)

// maxJPEGScans caps the number of scans (SOS markers), whatever the frame
// size: encoders write about 10 (libjpeg's progressive default) and rarely
// more than a few dozen. The same cap keeps libjpeg-turbo's fuzzers out of
// scan bombs.
const maxJPEGScans = 500

// JPEG decoding work is bounded from the header walk, before any decoder
// runs. image/jpeg visits, in every scan, each block of every MCU for the
// components the scan codes (mxx × myy × Σ h·v), and a progressive file
// transforms every block once more at the end. What a visit costs depends
// on the scan (measured on these machines, coefficients all zero, the
// cheapest data a scan can hold):
//
//	progressive AC, first pass        14 ns a block   weight 1
//	progressive DC, first or refining 30–35 ns        weight 2
//	progressive AC refinement         76–118 ns       weight 6
//	sequential (decode and IDCT)      285 ns          weight 15
//	final transform, progressive      450 ns          weight 24
//
// (A refinement costs the most at 100 megapixels, where its 400 MB of
// coefficients fit no cache.) The budget is jpegWorkUnits weighted visits for each block of a grey
// image at the pixel cap: about 4 s of decoding at the default 100
// megapixels, whatever the sampling. libjpeg's progressive script (what
// cjpeg -progressive writes) costs 59.5 in 4:2:0 and 112 in 4:4:4, a
// baseline 4:4:4 photo 45 and a CMYK one 60; the bombs this stops, hundreds
// of refinement scans over 100 megapixels, cost thousands. Decoding the
// coefficients a file really holds costs on top, bounded by its size. A
// sequential file must code each component in exactly one scan (checked in
// scanWork), so only progressive files come near the budget.
const (
	jpegWorkUnits         = 135
	jpegWeightACFirst     = 1
	jpegWeightDC          = 2
	jpegWeightACRefine    = 6
	jpegWeightSequential  = 15
	jpegWeightReconstruct = 24
)

// jpegFrame is what the scans are measured against: the MCU grid and each
// component's sampling factors, from SOF.
type jpegFrame struct {
	progressive bool
	mcus        int64 // mxx × myy, as image/jpeg computes them from the first component
	ids         []byte
	blocksPer   []int64 // h·v: blocks of each component in one MCU
	coded       []bool  // components a sequential scan has coded
}

// checkJPEG walks the marker segments from SOI to EOI without decoding:
// it reads the frame size from SOF (and checks the caps at once), measures
// each scan's decoding work against the budget, and skips entropy-coded data
// by looking for the next marker. A file that ends before EOI is truncated,
// which image/jpeg's DecodeConfig does not notice because it stops at SOF.
// Data after EOI is accepted (see the package comment).
func checkJPEG(data []byte, lim Limits) (w, h int, err error) {
	pos := 2 // after SOI
	scans := 0
	var frame *jpegFrame
	var work int64
	for {
		// Find the next marker. Like libjpeg and image/jpeg, skip
		// extraneous bytes between segments (some encoders leave a few),
		// then 0xFF fill bytes.
		i := bytes.IndexByte(data[pos:], 0xff)
		if i < 0 {
			return 0, 0, corrupt("", "it ends before the JPEG end marker")
		}
		pos += i
		for pos < len(data) && data[pos] == 0xff {
			pos++
		}
		if pos >= len(data) {
			return 0, 0, corrupt("", "it ends before the JPEG end marker")
		}
		code := data[pos]
		pos++
		switch {
		case code == 0x00: // a stuffed zero outside a scan: extraneous
			continue
		case code == 0xd9: // EOI
			if frame == nil || scans == 0 {
				return 0, 0, corrupt("", "the JPEG has no image data")
			}
			work += frame.reconstructWork()
			if budget := jpegWorkBudget(lim); work > budget {
				return 0, 0, tooComplex(fmt.Sprintf("its %d scans ask for %s times the decoding work that the %s limit allows",
					scans, ratio(work, budget), megapixels(lim.MaxPixels)))
			}
			return w, h, nil
		case 0xd0 <= code && code <= 0xd7: // RSTn: no length
			continue
		case code < 0xc0 || code == 0xd8:
			return 0, 0, corrupt("", fmt.Sprintf("unexpected JPEG marker 0x%02x", code))
		}
		if len(data)-pos < 2 {
			return 0, 0, corrupt("", "it ends inside a JPEG segment")
		}
		n := int(be16(data[pos:]))
		if n < 2 || n > len(data)-pos {
			return 0, 0, corrupt("", "it ends inside a JPEG segment")
		}
		seg := data[pos+2 : pos+n]
		pos += n
		switch {
		case isSOF(code):
			if frame != nil {
				return 0, 0, corrupt("", "the JPEG has two frame headers")
			}
			if len(seg) < 6 {
				return 0, 0, corrupt("", "the JPEG frame header is too short")
			}
			h, w = int(be16(seg[1:])), int(be16(seg[3:]))
			if err := checkDims(w, h, lim); err != nil {
				return 0, 0, err
			}
			if frame, err = parseJPEGFrame(code, seg, w, h); err != nil {
				return 0, 0, err
			}
		case code == 0xda: // SOS, followed by entropy-coded data
			if frame == nil {
				return 0, 0, corrupt("", "the JPEG scan comes before its frame header")
			}
			scans++
			if scans > maxJPEGScans {
				return 0, 0, refuse("", ErrTooComplex, "has more than %d scans, far beyond any real photo; files like this are made to stall decoders", maxJPEGScans)
			}
			cost, err := frame.scanWork(seg)
			if err != nil {
				return 0, 0, err
			}
			work += cost
			pos = skipEntropyData(data, pos)
		}
	}
}

// parseJPEGFrame reads the components of a SOF segment (already at least 6
// bytes, dimensions already checked).
func parseJPEGFrame(code byte, seg []byte, w, h int) (*jpegFrame, error) {
	nf := int(seg[5])
	if nf == 0 || len(seg) < 6+3*nf {
		return nil, corrupt("", "the JPEG frame header is too short")
	}
	f := &jpegFrame{progressive: code&0x03 == 0x02} // SOF2, SOF6, SOF10, SOF14
	for i := range nf {
		c := seg[6+3*i:]
		hs, vs := int(c[1]>>4), int(c[1]&0x0f)
		if hs < 1 || hs > 4 || vs < 1 || vs > 4 {
			return nil, corrupt("", "the JPEG frame header has an invalid sampling factor")
		}
		if i == 0 {
			f.mcus = int64((w+8*hs-1)/(8*hs)) * int64((h+8*vs-1)/(8*vs))
		}
		f.ids = append(f.ids, c[0])
		f.blocksPer = append(f.blocksPer, int64(hs*vs))
	}
	f.coded = make([]bool, nf)
	return f, nil
}

// scanWork is the decoding work of one SOS segment: the blocks it visits,
// weighted for sequential scans.
func (f *jpegFrame) scanWork(seg []byte) (int64, error) {
	if len(seg) < 1 {
		return 0, corrupt("", "the JPEG scan header is invalid")
	}
	ns := int(seg[0])
	if ns < 1 || ns > 4 || len(seg) != 4+2*ns {
		return 0, corrupt("", "the JPEG scan header is invalid")
	}
	var perMCU int64
	var inScan [4]int
	for i := range ns {
		k := bytes.IndexByte(f.ids, seg[1+2*i])
		if k < 0 {
			return 0, corrupt("", "a JPEG scan names a component its frame does not have")
		}
		if slices.Contains(inScan[:i], k) {
			return 0, corrupt("", "a JPEG scan names the same component twice")
		}
		inScan[i] = k
		// A sequential frame codes each component completely within one
		// scan; no encoder writes a second (libjpeg refuses one for a
		// single-component frame), and image/jpeg would decode and
		// transform the whole component again for each.
		if !f.progressive {
			if f.coded[k] {
				return 0, corrupt("", "the sequential JPEG codes a component in more than one scan")
			}
			f.coded[k] = true
		}
		perMCU += f.blocksPer[k]
	}
	ss, ah := seg[1+2*ns], seg[3+2*ns]>>4
	weight := int64(jpegWeightSequential)
	switch {
	case !f.progressive:
	case ss == 0:
		weight = jpegWeightDC
	case ah == 0:
		weight = jpegWeightACFirst
	default:
		weight = jpegWeightACRefine
	}
	return weight * f.mcus * perMCU, nil
}

// reconstructWork is the final inverse DCT of every block of a progressive
// frame (image/jpeg's reconstructProgressiveImage); a sequential scan counts
// its own.
func (f *jpegFrame) reconstructWork() int64 {
	if !f.progressive {
		return 0
	}
	var perMCU int64
	for _, n := range f.blocksPer {
		perMCU += n
	}
	return jpegWeightReconstruct * f.mcus * perMCU
}

// jpegWorkBudget is jpegWorkUnits weighted visits for each block of a grey
// image at the pixel cap.
func jpegWorkBudget(lim Limits) int64 {
	return jpegWorkUnits * ((lim.MaxPixels + 63) / 64)
}

// isSOF reports the start-of-frame markers (C0–CF except DHT, JPG and DAC).
func isSOF(code byte) bool {
	return 0xc0 <= code && code <= 0xcf && code != 0xc4 && code != 0xc8 && code != 0xcc
}

// skipEntropyData returns the position of the first marker after pos that
// is not a stuffed byte (FF 00) or a restart marker, or len(data).
// Entropy-coded data cannot contain any other FF xx pair, so the search is
// exact and linear.
func skipEntropyData(data []byte, pos int) int {
	for {
		i := bytes.IndexByte(data[pos:], 0xff)
		if i < 0 || pos+i+1 >= len(data) {
			return len(data)
		}
		pos += i
		next := data[pos+1]
		if next == 0x00 || 0xd0 <= next && next <= 0xd7 || next == 0xff {
			pos++
			continue
		}
		return pos
	}
}
