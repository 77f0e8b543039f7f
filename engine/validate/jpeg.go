package validate

import (
	"bytes"
	"fmt"
)

// maxJPEGScans caps the number of scans (SOS markers). A progressive decoder
// revisits every block of a component on each scan, so a small file with
// thousands of tiny scans over a large frame costs minutes of CPU. Encoders
// write about 10 scans (libjpeg's progressive default) and rarely more than a
// few dozen; 500 leaves room for any real file.
const maxJPEGScans = 500

// checkJPEG walks the marker segments from SOI to EOI without decoding:
// it reads the frame size from SOF (and checks the caps at once), counts the
// scans, and skips entropy-coded data by looking for the next marker. A file
// that ends before EOI is truncated, which image/jpeg's DecodeConfig does not
// notice because it stops at SOF. Data after EOI is accepted (see the
// package comment).
func checkJPEG(data []byte, lim Limits) (w, h int, err error) {
	pos := 2 // after SOI
	scans := 0
	sawFrame := false
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
			if !sawFrame || scans == 0 {
				return 0, 0, corrupt("", "the JPEG has no image data")
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
			if sawFrame {
				return 0, 0, corrupt("", "the JPEG has two frame headers")
			}
			if len(seg) < 6 {
				return 0, 0, corrupt("", "the JPEG frame header is too short")
			}
			sawFrame = true
			h, w = int(be16(seg[1:])), int(be16(seg[3:]))
			if err := checkDims(w, h, lim); err != nil {
				return 0, 0, err
			}
		case code == 0xda: // SOS, followed by entropy-coded data
			if !sawFrame {
				return 0, 0, corrupt("", "the JPEG scan comes before its frame header")
			}
			scans++
			if scans > maxJPEGScans {
				return 0, 0, refuse("", ErrCorrupt, "has more than %d scans, far beyond any real photo; files like this are made to stall decoders", maxJPEGScans)
			}
			pos = skipEntropyData(data, pos)
		}
	}
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
