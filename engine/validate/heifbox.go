package validate

import (
	"encoding/binary"
	"fmt"
)

// Bounds of the HEIF box walk. A phone's HEIC has a meta box of a few KB holding about a
// hundred items (48 tiles of 512 × 512 for 12 megapixels, a thumbnail, EXIF, often a gain
// map's tiles); a 100-megapixel photo in 256 × 256 tiles has 1,600 tiles.
const (
	// maxHEIFMeta caps the meta box, where the decoder builds an object for every box,
	// item and property before it decodes anything (ICC profiles, the largest legitimate
	// content, take a few hundred KB).
	maxHEIFMeta = 4 << 20
	// maxHEIFBoxes caps the boxes walked in the whole file.
	maxHEIFBoxes = 1 << 16
	// maxHEIFItems caps the entries of each item table (iinf, iloc, ipma).
	maxHEIFItems = 10_000
	// maxHEIFDepth caps nesting. The walk only descends into the containers it reads
	// (meta, iinf, iref, iprp, ipco), four levels at most.
	maxHEIFDepth = 6
)

// heifBox is one box: its four-character type and its payload (after the header).
type heifBox struct {
	typ  string
	body []byte
}

// boxWalk counts the boxes met so far against maxHEIFBoxes.
type boxWalk struct{ boxes int }

// nextBox reads the box at b[pos:] (b is the parent's payload, or the file at the top
// level). size is the header's 32-bit size, or its 64-bit size when the 32-bit one is 1, and
// must cover the header and stay inside b; 0 (to the end) is allowed at the top level only.
// It returns the box and where the next one starts.
func (w *boxWalk) nextBox(b []byte, pos uint64, depth int, top bool) (heifBox, uint64, error) {
	if w.boxes++; w.boxes > maxHEIFBoxes {
		return heifBox{}, 0, tooComplex(fmt.Sprintf("it is made of more than %d boxes", maxHEIFBoxes))
	}
	if depth > maxHEIFDepth {
		return heifBox{}, 0, corrupt("", "HEIF boxes are nested too deep")
	}
	rest := uint64(len(b)) - pos
	if rest < 8 {
		return heifBox{}, 0, corrupt("", "it ends inside a HEIF box header")
	}
	size, typ, head := uint64(be32(b[pos:])), string(b[pos+4:pos+8]), uint64(8)
	switch size {
	case 1:
		if rest < 16 {
			return heifBox{}, 0, corrupt("", "it ends inside a HEIF box header")
		}
		size, head = binary.BigEndian.Uint64(b[pos+8:]), 16
	case 0:
		if !top {
			return heifBox{}, 0, corrupt("", fmt.Sprintf("the HEIF %s box has no size", printable(typ)))
		}
		size = rest
	}
	if size < head {
		return heifBox{}, 0, corrupt("", fmt.Sprintf("the HEIF %s box is shorter than its header", printable(typ)))
	}
	if size > rest {
		if top {
			return heifBox{}, 0, corrupt("", fmt.Sprintf("it ends before its %s box does", printable(typ)))
		}
		return heifBox{}, 0, corrupt("", fmt.Sprintf("the HEIF %s box runs past the end of the box holding it", printable(typ)))
	}
	return heifBox{typ: typ, body: b[pos+head : pos+size]}, pos + size, nil
}

// each calls fn on every box of a container's payload, in order, and stops at the first
// error. Nothing is kept: a meta box of 65,536 boxes the walk skips costs no memory.
func (w *boxWalk) each(b []byte, depth int, fn func(heifBox) error) error {
	for pos := uint64(0); pos < uint64(len(b)); {
		box, next, err := w.nextBox(b, pos, depth, false)
		if err != nil {
			return err
		}
		if err := fn(box); err != nil {
			return err
		}
		pos = next
	}
	return nil
}

// printable shows a box type in a message: as it is when it is four printable ASCII
// characters, else in hex.
func printable(typ string) string {
	for i := 0; i < len(typ); i++ {
		if typ[i] < 0x20 || typ[i] > 0x7e {
			return fmt.Sprintf("0x%x", typ)
		}
	}
	return typ
}

// fields reads big-endian fields from a box payload; reading past the end sets bad and
// yields zeros, so that a parser checks once, at the end.
type fields struct {
	b   []byte
	bad bool
}

func (r *fields) take(n uint64) []byte {
	if r.bad || n > uint64(len(r.b)) {
		r.bad = true
		return nil
	}
	p := r.b[:n]
	r.b = r.b[n:]
	return p
}

func (r *fields) u8() uint8 {
	if p := r.take(1); p != nil {
		return p[0]
	}
	return 0
}

func (r *fields) u16() uint16 {
	if p := r.take(2); p != nil {
		return be16(p)
	}
	return 0
}

func (r *fields) u32() uint32 {
	if p := r.take(4); p != nil {
		return be32(p)
	}
	return 0
}

// uint reads an n-byte field, n being 0, 1, 2, 4 or 8 (iloc's sizes, pitm's and ipma's
// item numbers).
func (r *fields) uint(n int) uint64 {
	switch n {
	case 0:
		return 0
	case 1:
		return uint64(r.u8())
	case 2:
		return uint64(r.u16())
	case 4:
		return uint64(r.u32())
	case 8:
		if p := r.take(8); p != nil {
			return binary.BigEndian.Uint64(p)
		}
		return 0
	}
	r.bad = true
	return 0
}

// cstring reads a NUL-terminated string (a missing NUL ends it at the payload's end, as
// some writers do).
func (r *fields) cstring() string {
	for i, c := range r.b {
		if c == 0 {
			s := string(r.b[:i])
			r.b = r.b[i+1:]
			return s
		}
	}
	s := string(r.b)
	r.b = nil
	return s
}

// fullBox reads the version and flags of a FullBox payload.
func fullBox(body []byte) (version uint8, flags uint32, r *fields) {
	r = &fields{b: body}
	v := r.u32()
	return uint8(v >> 24), v & 0xffffff, r
}
