package validate

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// A JPEG writer for streams whose coefficients are all zero (a flat grey
// picture), baseline or progressive, with any scan script: enough to build
// the CPU bombs (hundreds of scans over a 100-megapixel frame) and a real
// encoder's scan script at the pixel cap, in milliseconds and without an
// external encoder. Image/jpeg and libjpeg decode what it writes.

// jpegSpec is a frame and its scans.
type jpegSpec struct {
	w, h        int
	sampling    [][2]int // h, v of each component (1 for grey, 3 for Y′CbCr)
	progressive bool
	scans       []jpegScan
	// before is inserted after SOI and the tables (e.g. extra DHT segments).
	before []byte
}

// jpegScan is one SOS: the components it codes (indices into sampling) and
// its spectral selection and successive approximation.
type jpegScan struct {
	comps          []int
	ss, se, ah, al int
}

// baselineScript is one interleaved scan of every component.
func baselineScript(ncomp int) []jpegScan {
	all := make([]int, ncomp)
	for i := range all {
		all[i] = i
	}
	return []jpegScan{{comps: all, se: 63}}
}

// libjpegProgression is the scan script of libjpeg's jpeg_simple_progression
// (what cjpeg -progressive writes): 10 scans for Y′CbCr, 6 for grey.
func libjpegProgression(ncomp int) []jpegScan {
	if ncomp == 1 {
		return []jpegScan{
			{comps: []int{0}, ss: 0, se: 0, ah: 0, al: 1},
			{comps: []int{0}, ss: 1, se: 5, ah: 0, al: 2},
			{comps: []int{0}, ss: 6, se: 63, ah: 0, al: 2},
			{comps: []int{0}, ss: 1, se: 63, ah: 2, al: 1},
			{comps: []int{0}, ss: 0, se: 0, ah: 1, al: 0},
			{comps: []int{0}, ss: 1, se: 63, ah: 1, al: 0},
		}
	}
	return []jpegScan{
		{comps: []int{0, 1, 2}, ss: 0, se: 0, ah: 0, al: 1},
		{comps: []int{0}, ss: 1, se: 5, ah: 0, al: 2},
		{comps: []int{2}, ss: 1, se: 63, ah: 0, al: 1},
		{comps: []int{1}, ss: 1, se: 63, ah: 0, al: 1},
		{comps: []int{0}, ss: 6, se: 63, ah: 0, al: 2},
		{comps: []int{0}, ss: 1, se: 63, ah: 2, al: 1},
		{comps: []int{0, 1, 2}, ss: 0, se: 0, ah: 1, al: 0},
		{comps: []int{2}, ss: 1, se: 63, ah: 1, al: 0},
		{comps: []int{1}, ss: 1, se: 63, ah: 1, al: 0},
		{comps: []int{0}, ss: 1, se: 63, ah: 1, al: 0},
	}
}

// repeatScan returns script followed by n copies of extra.
func repeatScan(script []jpegScan, extra jpegScan, n int) []jpegScan {
	out := append([]jpegScan(nil), script...)
	for range n {
		out = append(out, extra)
	}
	return out
}

// Huffman tables: DC table 0 has one code, "0", for difference category 0;
// AC table 0 has one code, "0", for EOB (two bits a block in a baseline
// scan); AC table 1 has the fifteen end-of-band-run symbols EOB0…EOB14, each
// four bits long, so a run of up to 32767 blocks costs at most 18 bits.
var jpegTables = func() []byte {
	var dht []byte
	dht = append(dht, 0x00) // class 0 (DC), id 0
	dht = append(dht, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	dht = append(dht, 0x00)
	dht = append(dht, 0x10) // class 1 (AC), id 0
	dht = append(dht, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	dht = append(dht, 0x00)
	dht = append(dht, 0x11) // class 1 (AC), id 1
	dht = append(dht, 0, 0, 0, 15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	for r := range 15 {
		dht = append(dht, byte(r<<4))
	}
	dqt := append([]byte{0x00}, bytes.Repeat([]byte{1}, 64)...)
	return cat(jpegSegment(0xdb, dqt), jpegSegment(0xc4, dht))
}()

// jpegSegment encodes a marker segment with its length.
func jpegSegment(marker byte, body []byte) []byte {
	out := []byte{0xff, marker}
	out = binary.BigEndian.AppendUint16(out, uint16(len(body)+2))
	return append(out, body...)
}

// buildJPEG writes s. Identical scans share their entropy-coded data.
func buildJPEG(s jpegSpec) []byte {
	sof := byte(0xc0)
	if s.progressive {
		sof = 0xc2
	}
	frame := []byte{8}
	frame = binary.BigEndian.AppendUint16(frame, uint16(s.h))
	frame = binary.BigEndian.AppendUint16(frame, uint16(s.w))
	frame = append(frame, byte(len(s.sampling)))
	for i, hv := range s.sampling {
		frame = append(frame, byte(i+1), byte(hv[0]<<4|hv[1]), 0)
	}
	var out bytes.Buffer
	out.Write([]byte{0xff, 0xd8})
	out.Write(jpegTables)
	out.Write(s.before)
	out.Write(jpegSegment(sof, frame))
	cache := map[string][]byte{}
	for _, sc := range s.scans {
		hdr := []byte{byte(len(sc.comps))}
		for _, c := range sc.comps {
			ta := 0
			if s.progressive {
				ta = 1
			}
			hdr = append(hdr, byte(c+1), byte(ta))
		}
		hdr = append(hdr, byte(sc.ss), byte(sc.se), byte(sc.ah<<4|sc.al))
		key := string(hdr)
		data, ok := cache[key]
		if !ok {
			data = s.entropy(sc)
			cache[key] = data
		}
		out.Write(jpegSegment(0xda, hdr))
		out.Write(data)
	}
	out.Write([]byte{0xff, 0xd9})
	return out.Bytes()
}

// blocks is how many blocks image/jpeg visits in scan sc: every block of
// every MCU for an interleaved scan, the component's own blocks inside the
// image for a single-component one.
func (s jpegSpec) blocks(sc jpegScan) int {
	h0, v0 := s.sampling[0][0], s.sampling[0][1]
	mxx, myy := (s.w+8*h0-1)/(8*h0), (s.h+8*v0-1)/(8*v0)
	sampling := func(c int) [2]int {
		if c < len(s.sampling) {
			return s.sampling[c]
		}
		return [2]int{1, 1} // a component the frame lacks, for refusal tests
	}
	if len(sc.comps) == 1 {
		hv := sampling(sc.comps[0])
		return min(mxx*hv[0], (s.w+7)/8) * min(myy*hv[1], (s.h+7)/8)
	}
	n := 0
	for _, c := range sc.comps {
		hv := sampling(c)
		n += mxx * myy * hv[0] * hv[1]
	}
	return n
}

// entropy is the entropy-coded data of scan sc with every coefficient zero.
func (s jpegSpec) entropy(sc jpegScan) []byte {
	n := s.blocks(sc)
	var w jpegBitWriter
	switch {
	case !s.progressive: // DC category 0 and EOB: "0", "0"
		w.zeros(2 * n)
	case sc.ss == 0: // a DC scan, first or refining: one zero bit a block
		w.zeros(n)
	default: // an AC scan, first or refining: end-of-band runs
		for n > 0 {
			run := min(n, 32767)
			r := bits.Len(uint(run)) - 1
			w.put(uint32(r), 4) // symbol EOBr is the r-th code of length 4
			w.put(uint32(run-1<<r), uint(r))
			n -= run
		}
	}
	return w.flush()
}

// jpegBitWriter writes bits most significant first, stuffing a zero byte
// after each 0xFF, and pads the last byte with ones.
type jpegBitWriter struct {
	out  []byte
	acc  uint64
	nacc uint
}

func (w *jpegBitWriter) put(v uint32, n uint) {
	w.acc = w.acc<<n | uint64(v)&(1<<n-1)
	w.nacc += n
	for w.nacc >= 8 {
		w.nacc -= 8
		b := byte(w.acc >> w.nacc)
		w.out = append(w.out, b)
		if b == 0xff {
			w.out = append(w.out, 0)
		}
	}
}

// zeros writes n zero bits, whole bytes at once.
func (w *jpegBitWriter) zeros(n int) {
	for ; n > 0 && w.nacc != 0; n-- {
		w.put(0, 1)
	}
	w.out = append(w.out, make([]byte, n/8)...)
	w.put(0, uint(n%8))
}

func (w *jpegBitWriter) flush() []byte {
	if w.nacc > 0 {
		pad := 8 - w.nacc
		w.put(1<<pad-1, pad)
	}
	return w.out
}
