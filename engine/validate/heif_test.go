package validate

import (
	"errors"
	"testing"
	"time"

	"cutout/internal/fixture"
)

// TestCodedSizes: the sequence headers of heif-enc's files give their coded sizes, x265's
// SPS (after its hvcC header) and aom's sequence header OBU (in the item data).
func TestCodedSizes(t *testing.T) {
	h := heifParts("coffee.heic")
	cfg := h.Item(h.Primary).Prop("hvcC").Body
	found := false
	r := &fields{b: cfg[22:]}
	for range r.u8() {
		r.u8()
		for range r.u16() {
			unit := r.take(uint64(r.u16()))
			if unit[0]>>1&0x3f != 33 {
				continue
			}
			w, hh, ok := hevcSPSSize(unit)
			if !ok || w != 600 || hh != 400 {
				t.Errorf("SPS says %d × %d (%v), want 600 × 400", w, hh, ok)
			}
			found = true
		}
	}
	if !found {
		t.Fatal("no SPS in coffee.heic's hvcC")
	}
	a := heifParts("coffee.avif")
	data, seen := a.Item(a.Primary).Data, false
	for p := 0; p < len(data); {
		typ, ext := data[p]>>3&15, data[p]&4 != 0
		p++
		if ext {
			p++
		}
		size, n := leb128(data[p:]) // aom writes every OBU with its size
		p += n
		if typ == 1 {
			w, hh, ok := av1MaxFrameSize(data[p : p+int(size)])
			if !ok || w != 600 || hh != 400 {
				t.Errorf("sequence header says %d × %d (%v), want 600 × 400", w, hh, ok)
			}
			seen = true
		}
		p += int(size)
	}
	if !seen {
		t.Fatal("no sequence header in coffee.avif's data")
	}
}

// TestHEIFRefusalsAreQuick: every hostile HEIF of the corpus is refused within
// milliseconds, without reading its image data: tens of µs each, 3–4 ms of CPU for the
// 70,000 boxes (allowed 100 ms here, on a shared machine).
func TestHEIFRefusalsAreQuick(t *testing.T) {
	for _, c := range heifCorpus() {
		if c.want == nil || !c.bytesOnly() {
			continue
		}
		data := c.data()
		start := time.Now()
		_, err := Bytes(c.file, data, c.lim)
		if d := time.Since(start); d > 100*time.Millisecond {
			t.Errorf("%s: refused in %v", c.name, d)
		}
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

// TestHEIFGridTileCap: a grid of exactly maxHEIFTiles tiles is accepted, one more is not.
func TestHEIFGridTileCap(t *testing.T) {
	for _, c := range []struct {
		cols, rows int
		want       error
	}{{40, 40, nil}, {40, 41, ErrTooComplex}} {
		// 40 × 40 tiles of 64 × 64 referring to one tile would read its data 1,600 times:
		// give each cell a copy of the tile.
		src := heifParts("orient.heic")
		tile := *src.Coded()
		w, h := uint32(64*c.cols), uint32(64*c.rows)
		g := &fixture.HEIF{Brands: src.Brands, Primary: 1}
		g.Items = []fixture.HEIFItem{{ID: 1, Type: "grid", Props: []fixture.HEIFProp{fixture.ISPE(w, h)},
			Data: fixture.GridData(c.rows, c.cols, w, h), InIdat: true}}
		ref := fixture.HEIFRef{Type: "dimg", From: 1}
		for i := range c.cols * c.rows {
			it := tile
			it.ID, it.Hidden = uint32(2+i), true
			g.Items = append(g.Items, it)
			ref.To = append(ref.To, it.ID)
		}
		g.Refs = []fixture.HEIFRef{ref}
		_, err := Bytes("grid.heic", g.Bytes(), Limits{})
		if !errors.Is(err, c.want) || (err == nil) != (c.want == nil) {
			t.Errorf("%d × %d tiles: %v, want %v", c.cols, c.rows, err, c.want)
		}
	}
}

// FuzzHEIF feeds the box walk the HEIC and AVIF corpus, mutated: it never panics, every
// refusal is a well-formed *Error, and what Bytes accepts is within the caps (checkBytes).
// The walk is also run on the bytes as they are, without the sniffing in front.
//
// The seeds are the corpus's small files (heif-enc's 64 × 48 and 96 × 64 pictures and what
// is made of them): the fuzzer minimises every input that finds new code, which takes
// minutes for a 36 KB photo.
func FuzzHEIF(f *testing.F) {
	for _, c := range heifCorpus() {
		if c.bytesOnly() {
			if d := c.data(); len(d) <= 4<<10 {
				f.Add(d)
			}
		}
	}
	for _, name := range []string{"orient.heic", "orient.avif", "alpha.heic", "alpha.avif"} {
		f.Add(heifFile(name))
		f.Add(heifEdit(name, func(h *fixture.HEIF) {
			it := h.Item(h.Primary)
			it.Props = append(it.Props, fixture.Irot(1), fixture.Imir(0))
		})())
	}
	f.Add(tiledOf("orient.avif", 3, 2, 150, 100, nil)())
	f.Fuzz(func(t *testing.T, data []byte) {
		checkBytes(t, "fuzz", data)
		for _, format := range []Format{HEIF, AVIF} {
			w, h, err := checkHEIF(format, data, DefaultLimits())
			var e *Error
			switch {
			case err != nil && !errors.As(err, &e):
				t.Fatalf("%v (%T) is not an *Error", err, err)
			case err == nil && checkDims(w, h, DefaultLimits()) != nil:
				t.Fatalf("accepted %d × %d", w, h)
			}
		}
	})
}
