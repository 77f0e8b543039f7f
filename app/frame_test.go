package app

import (
	"image"
	"image/color"
	"testing"
)

// subjectImage is a w × h cut-out: an opaque red rectangle r, a one-pixel speck at speck,
// transparent elsewhere.
func subjectImage(w, h int, r image.Rectangle, speck image.Point) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.SetNRGBA(x, y, color.NRGBA{R: 255, A: 255})
		}
	}
	img.SetNRGBA(speck.X, speck.Y, color.NRGBA{G: 255, A: 255})
	return img
}

func alphaOfNRGBA(img *image.NRGBA) func(x, y int) uint8 {
	return func(x, y int) uint8 { return img.Pix[img.PixOffset(x, y)+3] }
}

// opaqueBounds is the bounding box of the pixels of img with alpha over half.
func opaqueBounds(img *image.NRGBA) image.Rectangle {
	var r image.Rectangle
	for y := img.Rect.Min.Y; y < img.Rect.Max.Y; y++ {
		for x := img.Rect.Min.X; x < img.Rect.Max.X; x++ {
			if img.Pix[img.PixOffset(x, y)+3] > 128 {
				r = r.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	return r
}

func TestSubjectBoundsLeavesOutSpecks(t *testing.T) {
	subject := image.Rect(300, 200, 700, 900)
	img := subjectImage(1600, 1200, subject, image.Pt(1500, 50))
	got, ok := subjectBounds(img.Rect, alphaOfNRGBA(img))
	if !ok || got != subject {
		t.Errorf("subject bounds %v, want %v (the speck at 1500,50 left out)", got, subject)
	}
	if _, ok := subjectBounds(img.Rect, func(x, y int) uint8 { return 0 }); ok {
		t.Error("an empty matte has a subject")
	}
}

func TestFrameGeometry(t *testing.T) {
	subject := image.Rect(300, 200, 700, 900) // 400 × 700
	img := subjectImage(1600, 1200, subject, image.Pt(1500, 50))
	for _, tc := range []struct {
		name    string
		f       Frame
		size    image.Point
		subject image.Rectangle // where the subject lands in the output
	}{
		{"crop", Frame{Crop: true}, image.Pt(400, 700), image.Rect(0, 0, 400, 700)},
		{"crop, 40px", Frame{Crop: true, MarginPx: 40}, image.Pt(480, 780), image.Rect(40, 40, 440, 740)},
		// 10 % of the output's longer side: m = 0.1·(700 + 2m) → m = 87.5, rounded to 88.
		{"crop, 10%", Frame{Crop: true, MarginPct: 10}, image.Pt(576, 876), image.Rect(88, 88, 488, 788)},
		// On 1000 × 1000 less 5 % (50 px) each side: 900 high, 400·900/700 = 514 wide, centred.
		{"crop, 5%, canvas", Frame{Crop: true, MarginPct: 5, Canvas: image.Pt(1000, 1000)}, image.Pt(1000, 1000), image.Rect(243, 50, 757, 950)},
		// Without crop the whole photo is fitted: 1600 × 1200 into 1000 × 1000 is 1000 × 750.
		{"canvas", Frame{Canvas: image.Pt(1000, 1000)}, image.Pt(1000, 1000), image.Rect(188, 250, 438, 688)},
	} {
		out := tc.f.apply(img, alphaOfNRGBA(img), color.NRGBA{})
		if out.Rect.Size() != tc.size {
			t.Errorf("%s: output %v, want %v", tc.name, out.Rect.Size(), tc.size)
			continue
		}
		got := opaqueBounds(out)
		if tc.name == "canvas" {
			// The speck is scaled along; compare the rectangle's part only.
			got = opaqueBounds(out.SubImage(image.Rect(0, 100, 1000, 1000)).(*image.NRGBA))
		}
		if d := got.Min.Sub(tc.subject.Min); abs(d.X) > 1 || abs(d.Y) > 1 || abs(got.Dx()-tc.subject.Dx()) > 2 || abs(got.Dy()-tc.subject.Dy()) > 2 {
			t.Errorf("%s: the subject is at %v, want %v", tc.name, got, tc.subject)
		}
	}
	// A colour background fills the margin too.
	out := Frame{Crop: true, MarginPx: 10}.apply(img, alphaOfNRGBA(img), color.NRGBA{R: 1, G: 2, B: 3, A: 255})
	if c := out.NRGBAAt(2, 2); c != (color.NRGBA{R: 1, G: 2, B: 3, A: 255}) {
		t.Errorf("the margin is %v, want the background colour", c)
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func TestParseFraming(t *testing.T) {
	for _, tc := range []struct {
		in  string
		px  int
		pct float64
		bad bool
	}{{"5%", 0, 5, false}, {"40px", 40, 0, false}, {"40", 40, 0, false}, {"", 0, 0, false},
		{"50%", 0, 0, true}, {"-3px", 0, 0, true}, {"abc", 0, 0, true}} {
		px, pct, err := ParseMargin(tc.in)
		if (err != nil) != tc.bad || px != tc.px || pct != tc.pct {
			t.Errorf("ParseMargin(%q) = %d, %v, %v", tc.in, px, pct, err)
		}
	}
	if c, err := ParseCanvas("2000x1500"); err != nil || c != image.Pt(2000, 1500) {
		t.Errorf("ParseCanvas: %v %v", c, err)
	}
	for _, bad := range []string{"2000", "0x10", "x", "99999x10", "axb"} {
		if _, err := ParseCanvas(bad); err == nil {
			t.Errorf("ParseCanvas(%q) accepted", bad)
		}
	}
}
