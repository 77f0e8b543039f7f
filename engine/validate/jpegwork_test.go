package validate

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image/jpeg"
	"strings"
	"sync"
	"testing"
	"time"
)

// The JPEG CPU bombs, as they were found by feeding hostile files to the
// app, and the honest files at the pixel cap they must be told apart from.

var (
	grey    = [][2]int{{1, 1}}
	ycc444  = [][2]int{{1, 1}, {1, 1}, {1, 1}}
	ycc420  = [][2]int{{2, 2}, {1, 1}, {1, 1}}
	cmyk    = [][2]int{{1, 1}, {1, 1}, {1, 1}, {1, 1}}
	dcFirst = jpegScan{comps: []int{0}, se: 0, al: 1}
	// acRefine is an AC refinement scan with nothing to refine: a few end-
	// of-band runs (about 120 bytes at 100 megapixels) that still make
	// image/jpeg visit every block.
	acRefine = jpegScan{comps: []int{0}, ss: 1, se: 63, ah: 1}
)

var (
	// progressiveBomb is the bomb as found: 10000 × 10000 grey, a DC scan,
	// then 498 empty refinement scans (254 KB; about a minute of CPU).
	progressiveBomb = sync.OnceValue(func() []byte {
		return buildJPEG(jpegSpec{w: 10000, h: 10000, sampling: grey, progressive: true,
			scans: repeatScan([]jpegScan{dcFirst}, acRefine, 498)})
	})
	// refineBomb is the same without the DC scan, which image/jpeg does not
	// require: 499 refinement scans in 59 KB, small enough to seed the fuzzer.
	refineBomb = sync.OnceValue(func() []byte {
		return buildJPEG(jpegSpec{w: 10000, h: 10000, sampling: grey, progressive: true,
			scans: repeatScan(nil, acRefine, 499)})
	})
	// baselineBomb: 171 full baseline scans over 10000 × 10000 grey, each
	// decoding and transforming all 1.56 million blocks again (67 MB).
	baselineBomb = sync.OnceValue(func() []byte {
		return buildJPEG(jpegSpec{w: 10000, h: 10000, sampling: grey, scans: repeatScan(nil, baselineScript(1)[0], 171)})
	})
	// progressiveAtCap is what cjpeg -progressive writes for a 100-megapixel
	// 4:4:4 photo (its scan script; flat content).
	progressiveAtCap = sync.OnceValue(func() []byte {
		return buildJPEG(jpegSpec{w: 10000, h: 10000, sampling: ycc444, progressive: true, scans: libjpegProgression(3)})
	})
)

func TestJPEGWorkBudget(t *testing.T) {
	atCap := func(sampling [][2]int, progressive bool, scans []jpegScan) func() []byte {
		return func() []byte {
			return buildJPEG(jpegSpec{w: 10000, h: 10000, sampling: sampling, progressive: progressive, scans: scans})
		}
	}
	oneEach := func(n int) []jpegScan { // a non-interleaved baseline script
		var s []jpegScan
		for c := range n {
			s = append(s, jpegScan{comps: []int{c}, se: 63})
		}
		return s
	}
	for _, c := range []struct {
		name string
		data func() []byte
		lim  Limits
		want error
		says string
	}{
		{name: "cjpeg -progressive 4:2:0 at the cap", data: atCap(ycc420, true, libjpegProgression(3))},
		{name: "cjpeg -progressive 4:4:4 at the cap", data: progressiveAtCap},
		{name: "cjpeg -progressive grey at the cap", data: atCap(grey, true, libjpegProgression(1))},
		{name: "baseline 4:4:4 at the cap", data: atCap(ycc444, false, baselineScript(3))},
		{name: "baseline 4:4:4 non-interleaved at the cap", data: atCap(ycc444, false, oneEach(3))},
		{name: "baseline CMYK at the cap", data: atCap(cmyk, false, baselineScript(4))},
		{name: "progressive grey at the cap, 18 refinements (the budget)", data: atCap(grey, true, repeatScan(nil, acRefine, 18))},
		{name: "progressive grey at the cap, 19 refinements", data: atCap(grey, true, repeatScan(nil, acRefine, 19)),
			want: ErrTooComplex, says: "its 19 scans ask for 1.1 times the decoding work that the 100-megapixel limit allows"},
		{name: "progressive grey at the cap, 100 first AC scans (cheap ones)", data: atCap(grey, true,
			repeatScan(nil, jpegScan{comps: []int{0}, ss: 1, se: 63}, 100))},
		{name: "progressive 4:4:4 at the cap, DC and 9 refinements (the budget)",
			data: atCap(ycc444, true, repeatScan([]jpegScan{{comps: []int{0, 1, 2}, al: 1}}, acRefine, 9))},
		{name: "progressive 4:4:4 at the cap, DC and 10 refinements",
			data: atCap(ycc444, true, repeatScan([]jpegScan{{comps: []int{0, 1, 2}, al: 1}}, acRefine, 10)),
			want: ErrTooComplex, says: "its 11 scans ask for 1.1 times"},
		{name: "baseline grey at the cap, 2 scans of the one component", data: atCap(grey, false, repeatScan(nil, baselineScript(1)[0], 2)),
			want: ErrCorrupt, says: "codes a component in more than one scan"},
		{name: "a scan naming one component twice", data: atCap(ycc444, true, []jpegScan{{comps: []int{0, 0}}}),
			want: ErrCorrupt, says: "names the same component twice"},
		{name: "a scan naming a component the frame lacks", data: atCap(grey, true, []jpegScan{{comps: []int{1}}}),
			want: ErrCorrupt, says: "names a component its frame does not have"},
		{name: "progressive bomb as found", data: progressiveBomb, want: ErrTooComplex,
			says: "would take too long to decode: its 499 scans ask for 22.4 times the decoding work that the 100-megapixel limit allows; files built like this are made to stall decoders"},
		{name: "refinement-only bomb", data: refineBomb, want: ErrTooComplex, says: "its 499 scans ask for 22.4 times"},
		{name: "baseline bomb", data: baselineBomb, want: ErrCorrupt, says: "codes a component in more than one scan"},
		{name: "the budget follows the pixel cap", data: atCap(grey, true, repeatScan(nil, acRefine, 40)),
			lim: Limits{MaxPixels: 200_000_000}},
		{name: "a smaller pixel cap, a smaller budget", lim: Limits{MaxPixels: 1_000_000}, data: func() []byte {
			return buildJPEG(jpegSpec{w: 1000, h: 1000, sampling: grey, progressive: true, scans: repeatScan(nil, acRefine, 19)})
		}, want: ErrTooComplex, says: "its 19 scans ask for 1.1 times the decoding work that the 1-megapixel limit allows"},
		{name: "many scans of a small image are cheap", data: func() []byte {
			return buildJPEG(jpegSpec{w: 640, h: 480, sampling: ycc420, progressive: true,
				scans: repeatScan(libjpegProgression(3), acRefine, 400)})
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := c.data()
			start := time.Now()
			_, err := Bytes("scan.jpg", data, c.lim)
			if d := time.Since(start); d > time.Second {
				t.Errorf("validating %d bytes took %v", len(data), d)
			}
			if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if err != nil {
				checkFuzzError(t, "scan.jpg", err)
				if !strings.Contains(err.Error(), c.says) {
					t.Errorf("%q does not say %q", err, c.says)
				}
			}
		})
	}
}

// TestLibjpegScriptIsCjpegs: the scan script the tests use for "a normal
// progressive photo" is the one cjpeg really writes, read from the SOS
// headers of the committed cjpeg files.
func TestLibjpegScriptIsCjpegs(t *testing.T) {
	for _, c := range []struct {
		file  string
		ncomp int
	}{{"chelsea-progressive-444.jpg", 3}, {"chelsea-progressive-420.jpg", 3}, {"chelsea-progressive-grey.jpg", 1}} {
		var got []jpegScan
		for _, seg := range jpegSOSHeaders(readTestdata(c.file)) {
			ns := int(seg[0])
			sc := jpegScan{ss: int(seg[1+2*ns]), se: int(seg[2+2*ns]), ah: int(seg[3+2*ns] >> 4), al: int(seg[3+2*ns] & 15)}
			for i := range ns {
				sc.comps = append(sc.comps, int(seg[1+2*i])-1)
			}
			got = append(got, sc)
		}
		want := libjpegProgression(c.ncomp)
		if len(got) != len(want) {
			t.Fatalf("%s: %d scans, the script has %d", c.file, len(got), len(want))
		}
		for i := range want {
			if !equalScan(got[i], want[i]) {
				t.Errorf("%s scan %d: %+v, the script says %+v", c.file, i, got[i], want[i])
			}
		}
	}
}

func equalScan(a, b jpegScan) bool {
	if len(a.comps) != len(b.comps) || a.ss != b.ss || a.se != b.se || a.ah != b.ah || a.al != b.al {
		return false
	}
	for i := range a.comps {
		if a.comps[i] != b.comps[i] {
			return false
		}
	}
	return true
}

// jpegSOSHeaders returns the body of every SOS segment, walking the markers
// like checkJPEG.
func jpegSOSHeaders(j []byte) [][]byte {
	var out [][]byte
	for pos := 2; pos+4 <= len(j); {
		if j[pos] != 0xff || j[pos+1] == 0xd9 {
			break
		}
		n := int(binary.BigEndian.Uint16(j[pos+2:]))
		if j[pos+1] == 0xda {
			out = append(out, j[pos+4:pos+2+n])
			pos = skipEntropyData(j, pos+2+n)
			continue
		}
		pos += 2 + n
	}
	return out
}

// TestJPEGWriterOutputDecodes: what the bomb writer makes are real JPEGs,
// which image/jpeg decodes to flat grey (checked on a small frame; the
// decoding cost of the full-size ones is measured by -decode-cost).
func TestJPEGWriterOutputDecodes(t *testing.T) {
	for _, s := range []jpegSpec{
		{w: 100, h: 60, sampling: ycc420, progressive: true, scans: libjpegProgression(3)},
		{w: 100, h: 60, sampling: ycc444, progressive: true, scans: repeatScan(libjpegProgression(3), acRefine, 20)},
		{w: 100, h: 60, sampling: grey, progressive: true, scans: repeatScan(nil, acRefine, 30)},
		{w: 100, h: 60, sampling: ycc420, scans: baselineScript(3)},
		{w: 100, h: 60, sampling: ycc444, scans: []jpegScan{{comps: []int{0}, se: 63}, {comps: []int{1, 2}, se: 63}}},
	} {
		data := buildJPEG(s)
		img, err := jpeg.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%+v: %v", s, err)
		}
		if b := img.Bounds(); b.Dx() != s.w || b.Dy() != s.h {
			t.Fatalf("decoded %v", b)
		}
		if r, g, b, _ := img.At(s.w/2, s.h/2).RGBA(); r>>8 != 128 || g>>8 != 128 || b>>8 != 128 {
			t.Errorf("%+v: centre pixel %d %d %d, want flat grey 128", s, r>>8, g>>8, b>>8)
		}
		if _, err := Bytes("w.jpg", data, Limits{}); err != nil {
			t.Errorf("validation refused it: %v", err)
		}
	}
	for _, f := range []string{"chelsea-progressive-444.jpg", "chelsea-progressive-420.jpg", "chelsea-progressive-grey.jpg", "../../../assets/samples/rocket.jpg"} {
		data := readTestdata(f)
		if _, err := Bytes(f, data, Limits{}); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}
