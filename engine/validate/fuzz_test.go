package validate

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// maxSeed keeps the huge corpus cases (the 6 MB bomb) out of the seeds.
const maxSeed = 64 << 10

// FuzzSniff checks that Sniff never panics and only ever answers with a
// supported format or one of its three sentinels.
func FuzzSniff(f *testing.F) {
	for _, c := range corpus() {
		if c.bytesOnly() {
			d := c.data()
			f.Add(d[:min(len(d), SniffLen)])
		}
	}
	f.Fuzz(func(t *testing.T, head []byte) {
		format, err := Sniff(head)
		if err == nil {
			switch format {
			case PNG, JPEG, BMP, TIFF, WebP, HEIF, AVIF:
			default:
				t.Fatalf("Sniff returned unknown format %q", format)
			}
			return
		}
		if format != "" {
			t.Fatalf("Sniff returned %q with error %v", format, err)
		}
		if !errors.Is(err, ErrEmpty) && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupportedFormat) {
			t.Fatalf("Sniff error %v has an unexpected sentinel", err)
		}
		if msg := err.Error(); !utf8.ValidString(msg) || !strings.HasPrefix(msg, "refused: the file ") {
			t.Fatalf("bad message %q", msg)
		}
	})
}

// FuzzBytes checks that Bytes never panics, that whatever it accepts is
// within the caps, and that every refusal is a well-formed *Error.
func FuzzBytes(f *testing.F) {
	for _, c := range corpus() {
		if c.bytesOnly() && len(c.data()) <= maxSeed {
			f.Add(c.file, c.data())
		}
	}
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		checkBytes(t, name, data)
		// The fuzzer mutates names too, and most mutated names stop at the
		// extension check; a name without an extension lets the same
		// content reach the format checks.
		checkBytes(t, "fuzz", data)
	})
}

// checkBytes runs Bytes once and checks its invariants.
func checkBytes(t *testing.T, name string, data []byte) {
	t.Helper()
	info, err := Bytes(name, data, Limits{})
	if err != nil {
		checkFuzzError(t, name, err)
		if _, serr := Sniff(data); errors.Is(serr, ErrUnsupportedFormat) && !errors.Is(err, ErrUnsupportedFormat) {
			t.Fatalf("Sniff says %v but Bytes says %v", serr, err)
		}
		return
	}
	lim := DefaultLimits()
	if info.Width < 1 || info.Height < 1 || info.Width > lim.MaxWidth || info.Height > lim.MaxHeight ||
		int64(info.Width)*int64(info.Height) > lim.MaxPixels {
		t.Fatalf("accepted %d × %d, outside the caps", info.Width, info.Height)
	}
	if format, _ := Sniff(data); info.Format != format {
		t.Fatalf("Info.Format = %q, Sniff says %q", info.Format, format)
	}
	if info.Size != int64(len(data)) || info.Path != name {
		t.Fatalf("Info = %+v for %d bytes named %q", info, len(data), name)
	}
}

// checkFuzzError is checkError without testing.T's subtest plumbing.
func checkFuzzError(t *testing.T, name string, err error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Path != name {
		t.Fatalf("error %v (%T) is not an *Error for %q", err, err, name)
	}
	n := 0
	for _, s := range sentinels {
		if errors.Is(err, s) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("error %q matches %d sentinels", err, n)
	}
	msg := err.Error()
	if !utf8.ValidString(msg) || !strings.HasPrefix(msg, "refused: "+displayName(name)+" ") {
		t.Fatalf("bad message %q", msg)
	}
}

// FuzzJPEGWork builds JPEGs from fuzzed frames and scan scripts and checks
// that validation never counts less decoding work than image/jpeg really
// does: whenever the blocks image/jpeg visits (counted the way its scan loop
// counts them, skipping blocks outside the image) are over the budget, the
// file is refused. The pixel cap is small so that every frame is cheap.
func FuzzJPEGWork(f *testing.F) {
	f.Add(uint16(64), uint16(48), byte(1), true, []byte{7, 0, 0, 0x01, 1, 1, 5, 0x02, 1, 1, 63, 0x21})
	f.Add(uint16(255), uint16(255), byte(0), true, bytes.Repeat([]byte{1, 1, 63, 0x10}, 40))
	f.Add(uint16(100), uint16(7), byte(2), false, []byte{1, 0, 63, 0, 6, 0, 63, 0})
	f.Add(uint16(17), uint16(200), byte(3), false, []byte{15, 0, 63, 0})
	samplings := [][][2]int{grey, ycc420, ycc444, cmyk, {{2, 1}, {1, 1}, {1, 1}}}
	lim := Limits{MaxPixels: 1 << 16}
	f.Fuzz(func(t *testing.T, w, h uint16, sampling byte, progressive bool, script []byte) {
		s := jpegSpec{w: 1 + int(w)%256, h: 1 + int(h)%256, sampling: samplings[int(sampling)%len(samplings)], progressive: progressive}
		for i := 0; i+4 <= len(script) && len(s.scans) < 600; i += 4 {
			var sc jpegScan
			for c := range s.sampling {
				if script[i]>>c&1 != 0 {
					sc.comps = append(sc.comps, c)
				}
			}
			if len(sc.comps) == 0 {
				sc.comps = []int{0}
			}
			sc.ss, sc.se = int(script[i+1]%64), int(script[i+2]%64)
			sc.ah, sc.al = int(script[i+3]>>4)%14, int(script[i+3]&15)%14
			s.scans = append(s.scans, sc)
		}
		if len(s.scans) == 0 {
			return
		}
		data := buildJPEG(s)
		_, err := Bytes("fuzz.jpg", data, lim)
		if err != nil {
			checkFuzzError(t, "fuzz.jpg", err)
		}
		h0, v0 := s.sampling[0][0], s.sampling[0][1]
		mcus := int64((s.w+8*h0-1)/(8*h0)) * int64((s.h+8*v0-1)/(8*v0))
		var work int64
		for _, sc := range s.scans {
			weight := int64(jpegWeightSequential)
			switch {
			case !progressive:
			case sc.ss == 0:
				weight = jpegWeightDC
			case sc.ah == 0:
				weight = jpegWeightACFirst
			default:
				weight = jpegWeightACRefine
			}
			work += weight * int64(s.blocks(sc))
		}
		if progressive {
			for _, hv := range s.sampling {
				work += jpegWeightReconstruct * mcus * int64(hv[0]*hv[1])
			}
		}
		if work > jpegWorkBudget(lim.Resolved()) && err == nil {
			t.Fatalf("%d × %d, %d scans: image/jpeg would do %d units of work, the budget is %d, and validation accepted it",
				s.w, s.h, len(s.scans), work, jpegWorkBudget(lim.Resolved()))
		}
		if len(s.scans) > maxJPEGScans && !errors.Is(err, ErrTooComplex) {
			t.Fatalf("%d scans accepted", len(s.scans))
		}
	})
}
