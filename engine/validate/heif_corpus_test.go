package validate

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"

	"cutout/internal/fixture"
)

// The HEIC and AVIF cases start from the files heif-enc wrote for the engine's tests
// (engine/infer/testdata/heif, see TestWriteHEIFFixtures there) and take them apart with
// internal/fixture to make what no encoder writes.

func heifFile(name string) []byte {
	b, err := os.ReadFile(filepath.Join("..", "infer", "testdata", "heif", name))
	must(err)
	return b
}

func heifParts(name string) *fixture.HEIF {
	h, err := fixture.ReadHEIF(heifFile(name))
	must(err)
	return h
}

// heifEdit returns the file name with edit applied to its parts, written again.
func heifEdit(name string, edit func(h *fixture.HEIF)) func() []byte {
	return func() []byte {
		h := heifParts(name)
		edit(h)
		return h.Bytes()
	}
}

// setISPE replaces an item's size.
func setISPE(it *fixture.HEIFItem, w, h uint32) {
	*it.Prop("ispe") = fixture.ISPE(w, h)
}

// dropProp removes an item's properties of this type.
func dropProp(it *fixture.HEIFItem, typ string) {
	var kept []fixture.HEIFProp
	for _, p := range it.Props {
		if p.Type != typ {
			kept = append(kept, p)
		}
	}
	it.Props = kept
}

// tiledOf makes a cols × rows grid of w × h out of one coded image of name, referred to by
// every cell: a tile that is the whole coded image, tw × th as its ispe says.
func tiledOf(name string, cols, rows int, w, h uint32, tile func(it *fixture.HEIFItem)) func() []byte {
	return func() []byte {
		src := heifParts(name)
		t := *src.Coded()
		t.ID, t.Hidden = 2, true
		if tile != nil {
			tile(&t)
		}
		g := &fixture.HEIF{Brands: src.Brands, Primary: 1}
		g.Items = []fixture.HEIFItem{{ID: 1, Type: "grid", Props: []fixture.HEIFProp{fixture.ISPE(w, h)},
			Data: fixture.GridData(rows, cols, w, h), InIdat: true}, t}
		ref := fixture.HEIFRef{Type: "dimg", From: 1}
		for range cols * rows {
			ref.To = append(ref.To, 2)
		}
		g.Refs = []fixture.HEIFRef{ref}
		return g.Bytes()
	}
}

// patchBox finds the first box of type typ in b (by its type's bytes) and sets its 32-bit
// size.
func patchBox(b []byte, typ string, size uint32) []byte {
	b = bytes.Clone(b)
	i := bytes.Index(b, []byte(typ)) - 4
	binary.BigEndian.PutUint32(b[i:], size)
	return b
}

func heifCorpus() []corpusCase {
	coffee := func() []byte { return heifFile("coffee.heic") }
	return []corpusCase{
		// Valid files as heif-enc writes them, and as phones do (grids of 512 × 512 tiles).
		{name: "valid heic", file: "coffee.heic", data: coffee, info: Info{Format: HEIF, Width: 600, Height: 400}},
		{name: "valid avif", file: "coffee.avif", data: func() []byte { return heifFile("coffee.avif") },
			info: Info{Format: AVIF, Width: 600, Height: 400}},
		{name: "valid heic grid, edge tiles cropped", file: "IMG_0001.HEIC", data: func() []byte { return heifFile("coffee-grid.heic") },
			info: Info{Format: HEIF, Width: 600, Height: 400}},
		{name: "valid avif grid", file: "grid.avif", data: func() []byte { return heifFile("coffee-grid.avif") },
			info: Info{Format: AVIF, Width: 600, Height: 400}},
		{name: "valid heic with alpha", file: "alpha.heif", data: func() []byte { return heifFile("alpha.heic") },
			info: Info{Format: HEIF, Width: 96, Height: 64}},
		{name: "valid avif with alpha", file: "alpha.avif", data: func() []byte { return heifFile("alpha.avif") },
			info: Info{Format: AVIF, Width: 96, Height: 64}},
		{name: "valid heic, one padded tile cropped (heif-enc's small images)", file: "small.hif",
			data: func() []byte { return heifFile("orient.heic") }, info: Info{Format: HEIF, Width: 64, Height: 48}},
		{name: "valid heic 12 MP in 48 tiles", file: "phone.heic", data: func() []byte { return heifFile("phone-12mp.heic") },
			info: Info{Format: HEIF, Width: 4032, Height: 3024}},
		{name: "avif named .heif", file: "x.heif", data: func() []byte { return heifFile("coffee.avif") },
			info: Info{Format: AVIF, Width: 600, Height: 400}},
		{name: "heic with only the structural brand mif1", file: "mif1.heif", data: heifEdit("coffee.heic", func(h *fixture.HEIF) {
			h.Brands = []string{"mif1", "miaf"}
		}), info: Info{Format: HEIF, Width: 600, Height: 400}},
		{name: "heic with a 64-bit mdat size", file: "large.heic", data: heifEdit("coffee.heic", func(h *fixture.HEIF) { h.LargeMdat = true }),
			info: Info{Format: HEIF, Width: 600, Height: 400}},
		{name: "heic with zero padding after its last box", file: "padded.heic", data: func() []byte { return cat(coffee(), make([]byte, 64)) },
			info: Info{Format: HEIF, Width: 600, Height: 400}},

		// Names.
		{name: "heic named .jpg", file: "IMG_0001.jpg", data: coffee, want: ErrExtensionMismatch,
			says: "is a HEIC image but its name says JPEG"},
		{name: "avif named .heic", file: "x.heic", data: func() []byte { return heifFile("coffee.avif") }, want: ErrExtensionMismatch,
			says: "is an AVIF image but its name says HEIC"},

		// Truncated and damaged.
		{name: "truncated heic", file: "cut.heic", data: func() []byte { return cut(coffee(), len(coffee())/2) }, want: ErrCorrupt,
			says: "it ends before its mdat box does"},
		{name: "heic cut inside its meta box", file: "cut-meta.heic", data: func() []byte { return cut(coffee(), 100) }, want: ErrCorrupt,
			says: "it ends before its meta box does"},
		{name: "heic cut inside its ftyp box", file: "cut-ftyp.heic", data: func() []byte { return cut(coffee(), 10) }, want: ErrCorrupt},
		{name: "truncated avif", file: "cut.avif", data: func() []byte { b := heifFile("coffee.avif"); return cut(b, -100) },
			want: ErrCorrupt, says: "it ends before its mdat box does"},
		{name: "heic box size past the end of its parent", file: "past.heic", data: func() []byte {
			return patchBox(coffee(), "iinf", 1<<20)
		}, want: ErrCorrupt, says: "the HEIF iinf box runs past the end of the box holding it"},
		{name: "heic 64-bit box size past the end", file: "past64.heic", data: func() []byte {
			b := heifEdit("coffee.heic", func(h *fixture.HEIF) { h.LargeMdat = true })()
			i := bytes.Index(b, []byte("mdat"))
			binary.BigEndian.PutUint64(b[i+4:], 1<<62)
			return b
		}, want: ErrCorrupt, says: "it ends before its mdat box does"},
		{name: "heic without ispe", file: "noispe.heic", data: heifEdit("coffee.heic", func(h *fixture.HEIF) {
			dropProp(h.Item(h.Primary), "ispe")
		}), want: ErrCorrupt, says: "has no size (ispe)"},
		{name: "heic without hvcC", file: "nohvcc.heic", data: heifEdit("coffee.heic", func(h *fixture.HEIF) {
			dropProp(h.Item(h.Primary), "hvcC")
		}), want: ErrCorrupt, says: "no decoder configuration (hvcC)"},
		{name: "heic without a meta box", file: "nometa.heic", data: func() []byte {
			return cat(fixture.Box("ftyp", []byte("heic\x00\x00\x00\x00mif1heic")), fixture.Box("mdat", make([]byte, 16)))
		}, want: ErrCorrupt, says: "no meta box"},
		{name: "heic naming a primary image it lacks", file: "nopitm.heic", data: heifEdit("coffee.heic", func(h *fixture.HEIF) { h.Primary = 99 }),
			want: ErrCorrupt, says: "not in its item list"},
		{name: "heic whose primary image is hidden", file: "hidden.heic", data: heifEdit("coffee.heic", func(h *fixture.HEIF) {
			h.Item(h.Primary).Hidden = true
		}), want: ErrCorrupt, says: "primary image is hidden"},
		{name: "heic holding two pictures in one image", file: "twice.heic", data: heifEdit("coffee.heic", func(h *fixture.HEIF) {
			it := h.Item(h.Primary)
			it.Data = cat(it.Data, it.Data)
		}), want: ErrCorrupt, says: "more than one picture"},
		{name: "avif holding five frames in one image", file: "frames.avif", data: heifEdit("coffee.avif", func(h *fixture.HEIF) {
			it := h.Item(h.Primary)
			it.Data = bytes.Repeat(it.Data, 5)
		}), want: ErrCorrupt, says: "holds 5 frames"},

		// Dimensions, from the header alone, and sequence headers that contradict them.
		{name: "heic ispe claims 100000 x 100000", file: "huge.heic", data: heifEdit("coffee.heic", func(h *fixture.HEIF) {
			setISPE(h.Item(h.Primary), 100000, 100000)
		}), want: ErrDimensions, says: "claims 100000 × 100000 pixels, the limit is 16384 × 16384"},
		{name: "heic ispe claims 4 billion pixels wide", file: "huge32.heic", data: heifEdit("coffee.heic", func(h *fixture.HEIF) {
			setISPE(h.Item(h.Primary), 0xffffffff, 1)
		}), want: ErrDimensions, says: "4294967295 × 1"},
		{name: "heic over the pixel cap", file: "wide.heic", data: heifEdit("coffee.heic", func(h *fixture.HEIF) {
			setISPE(h.Item(h.Primary), 12000, 12000)
		}), want: ErrDimensions, says: "megapixels"},
		{name: "heic ispe smaller than its coded picture", file: "liar.heic", data: heifEdit("coffee.heic", func(h *fixture.HEIF) {
			setISPE(h.Item(h.Primary), 64, 48)
		}), want: ErrCorrupt, says: "coded at 600 × 400 pixels, more than the 64 × 48 its header says"},
		{name: "avif ispe smaller than its sequence header", file: "liar.avif", data: heifEdit("coffee.avif", func(h *fixture.HEIF) {
			setISPE(h.Item(h.Primary), 64, 48)
		}), want: ErrCorrupt, says: "coded at 600 × 400 pixels"},
		{name: "heic alpha plane claims 100000 x 100000", file: "alpha-huge.heic", data: heifEdit("alpha.heic", func(h *fixture.HEIF) {
			for i := range h.Items {
				if h.Items[i].ID != h.Primary && h.Items[i].Prop("auxC") != nil {
					setISPE(&h.Items[i], 100000, 100000)
				}
			}
		}), want: ErrDimensions, says: "100000 × 100000"},

		// Grids.
		{name: "heic grid bomb: 6400 tiles", file: "bomb.heic", data: tiledOf("orient.heic", 80, 80, 5120, 5120, nil),
			want: ErrTooComplex, says: "it is cut into 6400 tiles, each decoded on its own, and the limit is 1600"},
		{name: "heic grid whose tiles cover 324 MP", file: "tiles.heic", data: tiledOf("orient.heic", 2, 2, 9001, 9001, func(it *fixture.HEIFItem) {
			setISPE(it, 9000, 9000)
		}), want: ErrDimensions, says: "tiles that cover 324.0 megapixels"},
		{name: "heic grid whose tiles do not cover it", file: "gap.heic", data: tiledOf("orient.heic", 2, 1, 200, 48, nil),
			want: ErrCorrupt, says: "do not make a 200 × 48 image"},
		{name: "heic grid with tiles wholly outside it", file: "spare.heic", data: tiledOf("orient.heic", 3, 1, 100, 48, nil),
			want: ErrCorrupt, says: "do not make"},
		{name: "heic grid listing too few tiles", file: "few.heic", data: heifEdit("coffee-grid.heic", func(h *fixture.HEIF) {
			h.Refs[0].To = h.Refs[0].To[:1]
		}), want: ErrCorrupt, says: "has 2 × 1 tiles but lists 1"},
		{name: "heic grid reading its tile's data 9 times over", file: "reread.heic", data: tiledOf("coffee.heic", 3, 3, 1800, 1200, nil),
			want: ErrCorrupt, says: "adds up to more than the file"},

		// Structure bombs and foreign kinds.
		{name: "heic with a 5 MiB meta box", file: "bigmeta.heic", data: heifEdit("coffee.heic", func(h *fixture.HEIF) {
			h.MetaExtra = [][]byte{fixture.Box("free", make([]byte, 5<<20))}
		}), want: ErrTooComplex, says: "its metadata box is 5.0 MiB"},
		{name: "heic with 70000 boxes", file: "boxes.heic", data: heifEdit("coffee.heic", func(h *fixture.HEIF) {
			h.MetaExtra = [][]byte{bytes.Repeat(fixture.Box("free"), 70000)}
		}), want: ErrTooComplex, says: "more than 65536 boxes"},
		{name: "heic item table claiming 65535 items", file: "items.heic", data: func() []byte {
			b := bytes.Clone(coffee())
			i := bytes.Index(b, []byte("iinf"))
			binary.BigEndian.PutUint16(b[i+8:], 0xffff)
			return b
		}, want: ErrTooComplex, says: "lists 65535 items, and the limit is 10000"},
		{name: "heic overlay image", file: "overlay.heic", data: heifEdit("coffee.heic", func(h *fixture.HEIF) {
			h.Item(h.Primary).Type = "iovl"
		}), want: ErrUnsupportedFormat, says: "an overlay of several images"},
		{name: "heif holding a jpeg", file: "jpeg.heif", data: heifEdit("coffee.heic", func(h *fixture.HEIF) {
			h.Item(h.Primary).Type = "jpeg"
		}), want: ErrUnsupportedFormat, says: `coded as "jpeg"`},
		{name: "heic image sequence without a still image", file: "burst.heic", data: func() []byte {
			return cat(fixture.Box("ftyp", []byte("msf1\x00\x00\x00\x00msf1hevc")), fixture.Box("moov", make([]byte, 16)))
		}, want: ErrUnsupportedFormat, says: "image sequence without a still image"},
		{name: "heic with zip appended", file: "hidden-zip.heic", data: func() []byte { return cat(coffee(), smallZIP()) },
			want: ErrUnsupportedFormat, says: "is a HEIC image with a ZIP archive appended"},
		{name: "heic with a second heic appended", file: "two.heic", data: func() []byte { return cat(coffee(), coffee()) },
			want: ErrUnsupportedFormat, says: "with a HEIC image appended"},
	}
}
