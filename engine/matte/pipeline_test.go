package matte

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"math"
	"testing"
)

func TestAlphaRecoversBlend(t *testing.T) {
	// A blend with a known alpha; the "model mask" is the truth blurred and shifted a little.
	bl := rampBlend(t, 120, 60, 40, 70, 0)
	w, h := 120, 60
	mask := image.NewGray(bl.img.Rect)
	for i, a := range bl.alpha {
		x := i % w
		v := bl.alpha[(i/w)*w+max(0, min(w-1, x-2))] // 2 px off
		mask.Pix[i] = uint8(255 * (0.7*v + 0.3*a))
	}
	for _, tc := range []struct {
		refine  Refine
		base    int
		maxErr  float64
		rawBeat bool // must beat the raw mask
	}{
		{RefineNone, 1000, 1, false},
		{RefineGuided, 1000, 0.05, false},
		{RefineClosedForm, 1000, 0.01, true},
		{RefineClosedForm, 60, 0.02, true}, // solved at half size, upsampled
	} {
		t.Run(fmt.Sprintf("%v/base%d", tc.refine, tc.base), func(t *testing.T) {
			o := DefaultOptionsFor(tc.refine)
			o.BaseSize = tc.base
			o.Erode = 8
			a, err := Alpha(bl.img, mask, nil, o)
			if err != nil {
				t.Fatal(err)
			}
			got, raw := meanAbs(a, bl.alpha, nil), meanAbs(mask, bl.alpha, nil)
			t.Logf("mean abs error %.4f (raw mask %.4f)", got, raw)
			if got > tc.maxErr || (tc.rawBeat && got >= raw/2) {
				t.Errorf("mean abs error %.4f (raw mask %.4f), want <= %.3f", got, raw, tc.maxErr)
			}
		})
	}
	_ = h
}

func TestAlphaHintsOverride(t *testing.T) {
	img, mask := photoLike(64, 48)
	keep := image.NewAlpha(img.Rect)
	remove := image.NewAlpha(img.Rect)
	for y := 0; y < 5; y++ {
		for x := 0; x < 5; x++ {
			keep.SetAlpha(x, y, color.Alpha{255}) // background corner forced in
			remove.SetAlpha(32+x, 24+y, color.Alpha{1})
		}
	}
	for _, r := range []Refine{RefineNone, RefineGuided, RefineClosedForm} {
		t.Run(r.String(), func(t *testing.T) {
			o := DefaultOptionsFor(r)
			a, err := Alpha(img, mask, &Hints{Keep: keep, Remove: remove}, o)
			if err != nil {
				t.Fatal(err)
			}
			for y := 0; y < 5; y++ {
				for x := 0; x < 5; x++ {
					if a.GrayAt(x, y).Y != 255 || a.GrayAt(32+x, 24+y).Y != 0 {
						t.Fatalf("hints not applied at %d,%d: %d %d", x, y, a.GrayAt(x, y).Y, a.GrayAt(32+x, 24+y).Y)
					}
				}
			}
			if a.GrayAt(2, 45).Y != 0 {
				t.Errorf("background beyond the stroke changed: %d", a.GrayAt(2, 45).Y)
			}
		})
	}
}

func TestAlphaRandomInputs(t *testing.T) {
	sizes := [][2]int{{1, 1}, {1, 9}, {9, 1}, {3, 2}, {2, 3}, {5, 7}, {31, 17}, {64, 3}}
	variants := []func(*Options){
		func(o *Options) {},
		func(o *Options) { o.PostProcess = true },
		func(o *Options) { o.Shift, o.Feather = 2, 1.5 },
		func(o *Options) { o.Shift, o.Feather = -3, 7 },
		func(o *Options) { o.Erode, o.BaseSize = 0, 16 },
		func(o *Options) { o.Background = BackgroundColor },
		func(o *Options) { o.Background = BackgroundMask },
	}
	for _, sz := range sizes {
		for _, r := range []Refine{RefineNone, RefineGuided, RefineClosedForm} {
			for vi, v := range variants {
				name := fmt.Sprintf("%dx%d/%v/%d", sz[0], sz[1], r, vi)
				img, mask := randomImage(sz[0], sz[1], uint64(sz[0]*31+sz[1]+vi))
				o := DefaultOptionsFor(r)
				v(&o)
				out, err := Finish(img, mask, nil, o)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if out.Rect != img.Rect {
					t.Fatalf("%s: bounds %v", name, out.Rect)
				}
			}
		}
	}
}

func TestAlphaSubImageBounds(t *testing.T) {
	img, mask := photoLike(80, 60)
	r := image.Rect(10, 5, 70, 55)
	si, sm := img.SubImage(r).(*image.NRGBA), mask.SubImage(r).(*image.Gray)
	o := DefaultOptionsFor(RefineClosedForm)
	o.Feather = 1
	out, err := Finish(si, sm, nil, o)
	if err != nil {
		t.Fatal(err)
	}
	if out.Rect != r {
		t.Fatalf("bounds %v, want %v", out.Rect, r)
	}
	if out.NRGBAAt(40, 30).A != 255 || out.NRGBAAt(11, 6).A != 0 {
		t.Errorf("centre alpha %d, corner alpha %d", out.NRGBAAt(40, 30).A, out.NRGBAAt(11, 6).A)
	}
}

func TestAlphaErrors(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 8, 8))
	good := image.NewGray(img.Rect)
	bad := image.NewGray(image.Rect(0, 0, 8, 9))
	badHint := image.NewAlpha(image.Rect(0, 0, 1, 1))
	o := DefaultOptions()
	invalid := o
	invalid.FGThreshold = 300
	for _, tc := range []struct {
		name  string
		img   *image.NRGBA
		mask  *image.Gray
		hints *Hints
		o     Options
	}{
		{"mask size", img, bad, nil, o},
		{"keep size", img, good, &Hints{Keep: badHint}, o},
		{"remove size", img, good, &Hints{Remove: badHint}, o},
		{"options", img, good, nil, invalid},
		{"empty", image.NewNRGBA(image.Rectangle{}), image.NewGray(image.Rectangle{}), nil, o},
	} {
		if _, err := Finish(tc.img, tc.mask, tc.hints, tc.o); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

func TestWorkingSize(t *testing.T) {
	for _, tc := range [][5]int{{4000, 3000, 1000, 1000, 750}, {500, 400, 1000, 500, 400}, {3000, 1, 1000, 1000, 1}, {1001, 1001, 1000, 1000, 1000}} {
		if w, h := workingSize(tc[0], tc[1], tc[2]); w != tc[3] || h != tc[4] {
			t.Errorf("workingSize(%d, %d, %d) = %d, %d", tc[0], tc[1], tc[2], w, h)
		}
	}
}

func TestDownsampleUpsampleAligned(t *testing.T) {
	// A linear ramp survives area downsampling and bilinear upsampling (away from the ends).
	w, ww := 90, 30
	src := make([]float32, w)
	for i := range src {
		src[i] = float32(i) / float32(w-1)
	}
	d := downsample(src, 1, w, 1, ww, 1)
	up := make([]float32, w)
	upsample(d, ww, 1, w, 1, func(i int, v float32) { up[i] = v })
	for i := 3; i < w-3; i++ {
		if math.Abs(float64(up[i]-src[i])) > 1e-5 {
			t.Fatalf("pixel %d: %v, want %v", i, up[i], src[i])
		}
	}
}

func BenchmarkAlpha(b *testing.B) {
	img, m := photoLike(1155, 866)
	for _, r := range []Refine{RefineNone, RefineGuided, RefineClosedForm} {
		b.Run("1MP/"+r.String(), func(b *testing.B) {
			o := DefaultOptionsFor(r)
			for b.Loop() {
				if _, err := Alpha(img, m, nil, o); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestFinishedRowsMatchFinish: finishing from rows gives exactly what Finish gives on the whole
// image, for every background and the edge options, and reads only the visible runs of rows.
func TestFinishedRowsMatchFinish(t *testing.T) {
	const w, h = 97, 61
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	mask := image.NewGray(img.Rect)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := img.PixOffset(x, y)
			img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = uint8(3*x), uint8(4*y), uint8(x*y), 255
			// A soft disc off centre, and one row with nothing visible at all.
			d := math.Hypot(float64(x-40), float64(y-30))
			if v := 255 * (22 - d) / 6; v > 0 && y != 12 {
				mask.Pix[y*w+x] = uint8(min(255, v))
			}
		}
	}
	keep := image.NewAlpha(img.Rect)
	for x := 80; x < 90; x++ {
		keep.Pix[50*w+x] = 255 // a stroke far from the disc
	}
	for _, tc := range []struct {
		name  string
		edit  func(*Options)
		hints *Hints
	}{
		{"transparent", func(*Options) {}, nil},
		{"colour", func(o *Options) { o.Background, o.Color = BackgroundColor, color.NRGBA{R: 10, G: 200, B: 30, A: 255} }, nil},
		{"half-transparent colour", func(o *Options) { o.Background, o.Color = BackgroundColor, color.NRGBA{R: 90, A: 128} }, nil},
		{"mask", func(o *Options) { o.Background = BackgroundMask }, nil},
		{"shift feather post-process", func(o *Options) { o.Shift, o.Feather, o.PostProcess = 2, 1.5, true }, nil},
		{"hints", func(*Options) {}, &Hints{Keep: keep}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := DefaultOptions()
			tc.edit(&o)
			want, err := Finish(img, mask, tc.hints, o)
			if err != nil {
				t.Fatal(err)
			}
			a, err := Alpha(img, mask, tc.hints, o)
			if err != nil {
				t.Fatal(err)
			}
			read := make([]int, h) // pixels read per row
			rows := func(y, x0, x1 int, dst []uint8) {
				for x := x0; x < x1; x++ {
					if o.Background == BackgroundMask || (a.Pix[y*w+x] == 0 && (x == x0 || x == x1-1)) {
						t.Errorf("row %d: read [%d, %d), which starts or ends on a pixel that shows no colour", y, x0, x1)
						return
					}
				}
				read[y] += x1 - x0
				copy(dst[4*x0:4*x1], img.Pix[y*img.Stride+4*x0:y*img.Stride+4*x1])
			}
			// Row by row into a buffer full of stale bytes, as an encoder reuses one; the
			// matte may be made in the mask given.
			row, err := FinishedRows(img.Rect, rows, cloneGray(mask, mask.Rect), tc.hints, o)
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]uint8, 4*w)
			for y := 0; y < h; y++ {
				for i := range buf {
					buf[i] = uint8(7 * i)
				}
				row(y, buf)
				if !bytes.Equal(buf, want.Pix[y*want.Stride:y*want.Stride+4*w]) {
					t.Fatalf("row %d differs from Finish's", y)
				}
			}
			if o.Background != BackgroundMask && tc.hints == nil && o.Shift == 0 && read[12] != 0 {
				t.Errorf("read %d pixels of a row with nothing visible", read[12])
			}
		})
	}
	if _, err := FinishedRows(img.Rect, nil, mask, nil, DefaultOptionsFor(RefineGuided)); err == nil {
		t.Error("FinishedRows accepted options that refine with the image")
	}
}
