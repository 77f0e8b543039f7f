package validate

import "fmt"

// heifItem is one entry of the item tables: its type from iinf, its properties from ipma,
// its data from iloc.
type heifItem struct {
	typ       string   // "hvc1", "av01", "grid", "Exif", ...; "" for an infe before version 2
	hidden    bool     // not to be shown on its own (a tile, a thumbnail's source)
	protected bool     // its data is encrypted
	props     []uint16 // ipco indices, 1-based, in association order
	loc       *heifLoc
}

// heifLoc is where an item's bytes are: extents of the file (method 0) or of the idat box
// (method 1).
type heifLoc struct {
	method  uint8
	dataRef uint16 // 0: this file
	extents []heifExtent
}

type heifExtent struct{ off, n uint64 }

// heifProp is an ipco property: its type and payload.
type heifProp heifBox

// heifMeta is what the meta box says.
type heifMeta struct {
	primary    uint32
	hasPrimary bool
	items      map[uint32]*heifItem
	props      []heifProp
	refs       map[string]map[uint32][]uint32 // reference type → from item → to items
	idat       []byte
}

// parseMeta reads the boxes of the meta payload that say what the primary image is made of.
func (w *boxWalk) parseMeta(body []byte) (*heifMeta, error) {
	if len(body) > maxHEIFMeta {
		return nil, tooComplex(fmt.Sprintf("its metadata box is %s, where a phone writes a few KB, and the limit is %s",
			formatSize(int64(len(body))), formatBytes(maxHEIFMeta)))
	}
	_, _, r := fullBox(body)
	if r.bad {
		return nil, corrupt("", "the HEIF meta box is too short")
	}
	m := &heifMeta{items: map[uint32]*heifItem{}, refs: map[string]map[uint32][]uint32{}}
	seen := map[string]bool{}
	err := w.each(r.b, 1, func(b heifBox) error {
		switch b.typ {
		case "hdlr", "pitm", "iinf", "iloc", "iref", "iprp", "idat":
			if seen[b.typ] {
				return corrupt("", "the HEIF meta box has two "+b.typ+" boxes")
			}
			seen[b.typ] = true
		}
		switch b.typ {
		case "hdlr":
			_, _, f := fullBox(b.body)
			f.u32() // pre_defined
			if handler := string(f.take(4)); f.bad || handler != "pict" {
				return refuse("", ErrUnsupportedFormat, "is a HEIF file without pictures %s", supportedList)
			}
		case "pitm":
			v, _, f := fullBox(b.body)
			m.primary, m.hasPrimary = uint32(f.uint(idSize(v, 0))), !f.bad
		case "iinf":
			return w.parseIinf(m, b.body)
		case "iloc":
			return parseIloc(m, b.body)
		case "iref":
			return w.parseIref(m, b.body)
		case "iprp":
			return w.parseIprp(m, b.body)
		case "idat":
			m.idat = b.body
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !seen["hdlr"] {
		return nil, corrupt("", "the HEIF meta box has no handler")
	}
	return m, nil
}

// idSize is the byte size of an item number in a box of this version: 2 up to
// version v16, 4 after.
func idSize(version, v16 uint8) int {
	if version > v16 {
		return 4
	}
	return 2
}

// item returns the item with this number, making an empty one if no table named it yet.
func (m *heifMeta) item(id uint32) *heifItem {
	it := m.items[id]
	if it == nil {
		it = &heifItem{}
		m.items[id] = it
	}
	return it
}

// tooMany refuses a table with more than maxHEIFItems entries.
func tooMany(n uint64, table string) error {
	if n > maxHEIFItems {
		return tooComplex(fmt.Sprintf("its %s table lists %d items, and the limit is %d", table, n, maxHEIFItems))
	}
	return nil
}

// parseIinf reads the item types (infe boxes of version 2 and 3; earlier ones name no type).
func (w *boxWalk) parseIinf(m *heifMeta, body []byte) error {
	v, _, r := fullBox(body)
	n := r.uint(idSize(v, 0))
	if r.bad {
		return corrupt("", "the HEIF item list is too short")
	}
	if err := tooMany(n, "item information"); err != nil {
		return err
	}
	return w.each(r.b, 2, func(b heifBox) error {
		if b.typ != "infe" {
			return nil
		}
		v, flags, f := fullBox(b.body)
		if v < 2 {
			return nil
		}
		id := uint32(f.uint(idSize(v, 2)))
		protection := f.u16()
		typ := string(f.take(4))
		if f.bad {
			return corrupt("", "a HEIF item entry is too short")
		}
		it := m.item(id)
		it.typ, it.protected, it.hidden = typ, protection != 0, flags&1 != 0
		return nil
	})
}

// parseIloc reads where each item's bytes are.
func parseIloc(m *heifMeta, body []byte) error {
	v, _, r := fullBox(body)
	if v > 2 {
		return refuse("", ErrUnsupportedFormat, "is a kind of HEIF file this app cannot read (item locations version %d)", v)
	}
	sizes := r.u16()
	offSize, lenSize, baseSize := int(sizes>>12), int(sizes>>8&15), int(sizes>>4&15)
	idxSize := 0
	if v > 0 {
		idxSize = int(sizes & 15)
	}
	for _, s := range []int{offSize, lenSize, baseSize, idxSize} {
		if s != 0 && s != 4 && s != 8 {
			return corrupt("", fmt.Sprintf("a HEIF item location field is %d bytes long", s))
		}
	}
	n := r.uint(idSize(v, 1))
	if err := tooMany(n, "item location"); err != nil {
		return err
	}
	extents := uint64(0)
	for range n {
		id := uint32(r.uint(idSize(v, 1)))
		loc := &heifLoc{}
		if v > 0 {
			loc.method = uint8(r.u16() & 15)
		}
		loc.dataRef = r.u16()
		base := r.uint(baseSize)
		count := uint64(r.u16())
		if r.bad || count*uint64(idxSize+offSize+lenSize) > uint64(len(r.b)) {
			return corrupt("", "the HEIF item locations are cut short")
		}
		// Extents of zero-size fields take no bytes: count them too.
		if extents += count; extents > maxHEIFItems {
			return tooMany(extents, "item extent")
		}
		loc.extents = make([]heifExtent, 0, count)
		for range count {
			r.uint(idxSize)
			off, n := r.uint(offSize), r.uint(lenSize)
			if off > ^uint64(0)-base {
				return corrupt("", "a HEIF item location overflows")
			}
			loc.extents = append(loc.extents, heifExtent{base + off, n})
		}
		if r.bad {
			return corrupt("", "the HEIF item locations are cut short")
		}
		m.item(id).loc = loc
	}
	return nil
}

// parseIref reads the references between items (a grid's tiles, an alpha plane's image).
func (w *boxWalk) parseIref(m *heifMeta, body []byte) error {
	v, _, r := fullBox(body)
	if r.bad {
		return corrupt("", "the HEIF item references are too short")
	}
	refs := 0
	return w.each(r.b, 2, func(b heifBox) error {
		f := &fields{b: b.body}
		from := uint32(f.uint(idSize(v, 0)))
		n := int(f.u16())
		if f.bad || n*idSize(v, 0) > len(f.b) {
			return corrupt("", "a HEIF item reference is cut short")
		}
		if refs += n; refs > maxHEIFItems {
			return tooMany(uint64(refs), "item reference")
		}
		to := make([]uint32, 0, n)
		for range n {
			to = append(to, uint32(f.uint(idSize(v, 0))))
		}
		byFrom := m.refs[b.typ]
		if byFrom == nil {
			byFrom = map[uint32][]uint32{}
			m.refs[b.typ] = byFrom
		}
		if _, dup := byFrom[from]; dup && b.typ == "dimg" {
			return corrupt("", "a HEIF derived image lists its sources twice")
		}
		byFrom[from] = append(byFrom[from], to...)
		return nil
	})
}

// parseIprp reads the property container and the associations of items to properties.
func (w *boxWalk) parseIprp(m *heifMeta, body []byte) error {
	var assoc []heifBox
	err := w.each(body, 2, func(b heifBox) error {
		switch b.typ {
		case "ipco":
			if m.props != nil {
				return corrupt("", "the HEIF file has two property containers")
			}
			// Counted first, so that the list is made once at its size.
			n, count := 0, boxWalk{boxes: w.boxes}
			if err := count.each(b.body, 3, func(heifBox) error { n++; return nil }); err != nil {
				return err
			}
			m.props = make([]heifProp, 0, n)
			return w.each(b.body, 3, func(p heifBox) error {
				m.props = append(m.props, heifProp(p))
				return nil
			})
		case "ipma":
			assoc = append(assoc, b)
		}
		return nil
	})
	if err != nil {
		return err
	}
	entries := uint64(0)
	for _, b := range assoc {
		v, flags, r := fullBox(b.body)
		n := uint64(r.u32())
		if entries += n; r.bad {
			return corrupt("", "the HEIF property associations are too short")
		}
		if err := tooMany(entries, "property association"); err != nil {
			return err
		}
		for range n {
			it := m.item(uint32(r.uint(idSize(v, 0))))
			for range r.u8() {
				var idx uint16
				if flags&1 != 0 {
					idx = r.u16() & 0x7fff
				} else {
					idx = uint16(r.u8() & 0x7f)
				}
				if idx == 0 {
					continue
				}
				if int(idx) > len(m.props) {
					return corrupt("", "a HEIF item names a property that does not exist")
				}
				it.props = append(it.props, idx)
			}
			if r.bad {
				return corrupt("", "the HEIF property associations are cut short")
			}
		}
	}
	return nil
}

// prop returns the item's first property of this type.
func (m *heifMeta) prop(it *heifItem, typ string) ([]byte, bool) {
	for _, i := range it.props {
		if p := m.props[i-1]; p.typ == typ {
			return p.body, true
		}
	}
	return nil, false
}
