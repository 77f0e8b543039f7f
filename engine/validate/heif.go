package validate

import (
	"fmt"
	"slices"
)

// maxHEIFTiles caps the tiles of a grid image. libheif decodes each tile with a decoder
// instance of its own (set up, fed, torn down: 0.3 ms for a small HEVC tile here), so tiles
// are work whatever their size, and it refuses a grid of 2,000 tiles itself. Phones write 48
// tiles of 512 × 512 for 12 megapixels and 192 for 48; 100 megapixels in 256 × 256 tiles
// take 1,564.
const maxHEIFTiles = 1600

// maxHEIFTileSlack is how far a grid's tiles may cover more than the pixel cap: the tiles of
// the last row and column stick out past the image's edges and are cropped.
const maxHEIFTileSlack = 4 // a quarter

// alphaTypes are the auxiliary types that make an item the alpha plane of the image it
// belongs to (HEIF's MPEG-B name and the older HEVC one libheif also reads).
var alphaTypes = []string{"urn:mpeg:mpegB:cicp:systems:auxiliary:alpha", "urn:mpeg:hevc:2015:auxid:1"}

// checkHEIF walks the boxes of a HEIF file (HEIC or AVIF) down to what the decoder will
// decode: the primary image (one coded image, or a grid of coded tiles) and its alpha plane.
// Every box must fit its parent, the meta box and its tables have caps, every image needs its
// size (ispe) and a decoder configuration, every image's data must lie inside the file, and
// the sequence headers inside that data must not code larger pictures than ispe says. The
// dimensions are checked before any of the image data is read.
func checkHEIF(format Format, data []byte, lim Limits) (w, h int, err error) {
	var walk boxWalk
	var meta []byte
	haveMeta, sequence := false, false
	for pos := uint64(0); pos < uint64(len(data)); {
		tail := data[pos:]
		if pos > 0 && checkTrailer(format, tail) == nil {
			break // zero padding after the last box
		}
		box, next, err := walk.nextBox(data, pos, 0, true)
		if pos > 0 && (err != nil && recognisable(tail) || err == nil && box.typ == "ftyp") {
			return 0, 0, checkTrailer(format, tail)
		}
		if err != nil {
			return 0, 0, err
		}
		switch {
		case pos == 0 && box.typ != "ftyp":
			return 0, 0, corrupt("", "the HEIF file does not start with its file type box")
		case box.typ == "meta" && haveMeta:
			return 0, 0, corrupt("", "the HEIF file has two meta boxes")
		case box.typ == "meta":
			meta, haveMeta = box.body, true
		case box.typ == "moov":
			sequence = true
		}
		pos = next
	}
	if !haveMeta {
		if sequence {
			return 0, 0, refuse("", ErrUnsupportedFormat, "is %s image sequence without a still image, which this app cannot read %s",
				format.a(), supportedList)
		}
		return 0, 0, corrupt("", "the HEIF file has no meta box")
	}
	m, err := walk.parseMeta(meta)
	if err != nil {
		return 0, 0, err
	}
	if !m.hasPrimary {
		return 0, 0, corrupt("", "the HEIF file names no primary image")
	}
	if it := m.items[m.primary]; it != nil && it.hidden {
		return 0, 0, corrupt("", "the HEIF file's primary image is hidden")
	}
	c := &heifCheck{m: m, data: data, lim: lim, format: format}
	if w, h, err = c.image(m.primary); err != nil {
		return 0, 0, err
	}
	for _, aux := range c.alphaOf(m.primary) {
		if _, _, err := c.image(aux); err != nil {
			return 0, 0, err
		}
	}
	return w, h, nil
}

// recognisable says whether tail is something else appended, rather than a box cut short.
func recognisable(tail []byte) bool {
	if _, err := Sniff(tail); err == nil {
		return true
	}
	name, _ := recognise(tail[:min(len(tail), SniffLen)])
	return name != "" && name != "a text file"
}

// heifCheck checks the images the decoder will decode.
type heifCheck struct {
	m      *heifMeta
	data   []byte
	lim    Limits
	format Format
	coded  uint64 // bytes of image data met so far
}

// alphaOf lists the alpha planes of image id: items referring to it by auxl whose auxC
// names an alpha type.
func (c *heifCheck) alphaOf(id uint32) []uint32 {
	var out []uint32
	for aux, to := range c.m.refs["auxl"] {
		it := c.m.items[aux]
		if it == nil || !slices.Contains(to, id) {
			continue
		}
		if p, ok := c.m.prop(it, "auxC"); ok {
			_, _, f := fullBox(p)
			if slices.Contains(alphaTypes, f.cstring()) {
				out = append(out, aux)
			}
		}
	}
	slices.Sort(out)
	return out
}

// unsupported refuses a kind of HEIF image the decoder does not make into a picture.
func (c *heifCheck) unsupported(what string) error {
	return refuse("", ErrUnsupportedFormat, "is a kind of %s image this app cannot read (%s)", c.format.label(), what)
}

// image checks item id, a coded image or a grid of them, and returns its size.
func (c *heifCheck) image(id uint32) (w, h int, err error) {
	it := c.m.items[id]
	if it == nil || it.typ == "" {
		return 0, 0, corrupt("", "an image the HEIF file refers to is not in its item list")
	}
	if it.protected {
		return 0, 0, c.unsupported("its image is encrypted")
	}
	switch it.typ {
	case "hvc1", "av01":
		return c.codedImage(it)
	case "grid":
		return c.grid(id, it)
	case "iovl":
		return 0, 0, c.unsupported("an overlay of several images")
	case "iden":
		return 0, 0, c.unsupported("a derived image")
	}
	return 0, 0, c.unsupported(fmt.Sprintf("an image coded as %q", printable(it.typ)))
}

// size reads an item's ispe and checks it against the caps.
func (c *heifCheck) size(it *heifItem) (w, h int, err error) {
	p, ok := c.m.prop(it, "ispe")
	if !ok {
		return 0, 0, corrupt("", "an image in the HEIF file has no size (ispe)")
	}
	_, _, f := fullBox(p)
	w64, h64 := uint64(f.u32()), uint64(f.u32())
	if f.bad {
		return 0, 0, corrupt("", "the HEIF image size property is too short")
	}
	if w64 > 1<<31-1 || h64 > 1<<31-1 {
		return 0, 0, refuse("", ErrDimensions, "claims %d × %d pixels, the limit is %d × %d",
			w64, h64, c.lim.MaxWidth, c.lim.MaxHeight)
	}
	w, h = int(w64), int(h64)
	return w, h, checkDims(w, h, c.lim)
}

// codedImage checks one coded image: its size, its configuration and its data.
func (c *heifCheck) codedImage(it *heifItem) (w, h int, err error) {
	if w, h, err = c.size(it); err != nil {
		return 0, 0, err
	}
	return w, h, c.codedData(it, w, h)
}

// codedData checks a coded image's data against the size it claims.
func (c *heifCheck) codedData(it *heifItem, w, h int) error {
	cfgType := map[string]string{"hvc1": "hvcC", "av01": "av1C"}[it.typ]
	cfg, ok := c.m.prop(it, cfgType)
	if !ok {
		return corrupt("", "an image in the HEIF file has no decoder configuration ("+cfgType+")")
	}
	chunks, err := c.itemData(it)
	if err != nil {
		return err
	}
	if it.typ == "hvc1" {
		return checkHEVC(cfg, chunks, w, h)
	}
	return checkAV1(cfg, chunks, w, h)
}

// itemData returns the extents of an item's data, each checked to lie inside the file (or
// the idat box). All the images' data together may not be larger than the file: extents
// that overlap would make the decoder read the same bytes over and over.
func (c *heifCheck) itemData(it *heifItem) ([][]byte, error) {
	loc := it.loc
	switch {
	case loc == nil || len(loc.extents) == 0:
		return nil, corrupt("", "an image in the HEIF file has no data")
	case loc.dataRef != 0:
		return nil, c.unsupported("its image data is in another file")
	case loc.method > 1:
		return nil, c.unsupported("image data assembled from other items")
	}
	src := c.data
	if loc.method == 1 {
		src = c.m.idat
	}
	chunks := make([][]byte, 0, len(loc.extents))
	for _, e := range loc.extents {
		n := e.n
		if n == 0 && e.off <= uint64(len(src)) {
			n = uint64(len(src)) - e.off // a length of 0 is "to the end"
		}
		if e.off > uint64(len(src)) || n > uint64(len(src))-e.off {
			return nil, corrupt("", "it ends before its image data does")
		}
		if c.coded += n; c.coded > uint64(len(c.data)) {
			return nil, corrupt("", "the image data of its items adds up to more than the file")
		}
		chunks = append(chunks, src[e.off:e.off+n])
	}
	return chunks, nil
}

// grid checks a grid image: its layout, and every tile as a coded image. The tiles are
// checked for count and size before any tile's data is looked at.
func (c *heifCheck) grid(id uint32, it *heifItem) (w, h int, err error) {
	if w, h, err = c.size(it); err != nil {
		return 0, 0, err
	}
	chunks, err := c.itemData(it)
	if err != nil {
		return 0, 0, err
	}
	var desc []byte
	for _, ch := range chunks {
		if desc = append(desc, ch...); len(desc) > 16 {
			return 0, 0, corrupt("", "the HEIF grid description is too long")
		}
	}
	f := &fields{b: desc}
	f.u8() // version
	flags := f.u8()
	rows, cols := int(f.u8())+1, int(f.u8())+1
	outSize := 2
	if flags&1 != 0 {
		outSize = 4
	}
	outW, outH := int(f.uint(outSize)), int(f.uint(outSize))
	if f.bad {
		return 0, 0, corrupt("", "the HEIF grid description is too short")
	}
	if outW != w || outH != h {
		return 0, 0, corrupt("", fmt.Sprintf("the HEIF grid makes %d × %d pixels but its size says %d × %d", outW, outH, w, h))
	}
	n := rows * cols
	if n > maxHEIFTiles {
		return 0, 0, tooComplex(fmt.Sprintf("it is cut into %d tiles, each decoded on its own, and the limit is %d", n, maxHEIFTiles))
	}
	ids := c.m.refs["dimg"][id]
	if len(ids) != n {
		return 0, 0, corrupt("", fmt.Sprintf("the HEIF grid has %d × %d tiles but lists %d", cols, rows, len(ids)))
	}
	tiles := make([]*heifItem, n)
	var tw, th int
	for i, tid := range ids {
		t := c.m.items[tid]
		if t == nil || t.typ != "hvc1" && t.typ != "av01" || i > 0 && t.typ != tiles[0].typ {
			return 0, 0, corrupt("", "a tile of the HEIF grid is not a coded image")
		}
		if t.protected {
			return 0, 0, c.unsupported("its image is encrypted")
		}
		tiles[i] = t
		x, y, err := c.size(t)
		if err != nil {
			return 0, 0, err
		}
		if i == 0 {
			tw, th = x, y
		} else if x != tw || y != th {
			return 0, 0, corrupt("", "the tiles of the HEIF grid differ in size")
		}
	}
	if cols*tw < w || rows*th < h || (cols-1)*tw >= w || (rows-1)*th >= h {
		return 0, 0, corrupt("", fmt.Sprintf("%d × %d tiles of %d × %d do not make a %d × %d image", cols, rows, tw, th, w, h))
	}
	if area := int64(n) * int64(tw) * int64(th); area > c.lim.MaxPixels+c.lim.MaxPixels/maxHEIFTileSlack {
		return 0, 0, refuse("", ErrDimensions, "is made of tiles that cover %.1f megapixels, the limit is %.1f megapixels",
			float64(area)/1e6, float64(c.lim.MaxPixels)/1e6)
	}
	for _, t := range tiles {
		if err := c.codedData(t, tw, th); err != nil {
			return 0, 0, err
		}
	}
	return w, h, nil
}
