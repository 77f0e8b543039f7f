package matte

import (
	"bytes"
	"image"
	"image/color"
	"testing"
)

func TestComposite(t *testing.T) {
	fg := image.NewNRGBA(image.Rect(0, 0, 4, 1))
	copy(fg.Pix, []uint8{
		200, 100, 0, 255,
		200, 100, 0, 9, // fg alpha is ignored
		200, 100, 0, 255,
		10, 20, 30, 255,
	})
	a := grayFrom([][]uint8{{255, 0, 51, 128}})
	for _, tc := range []struct {
		name string
		o    Options
		want []uint8
	}{
		{"transparent", Options{Background: BackgroundTransparent}, []uint8{
			// pixel 1 is fully transparent: written as 0,0,0,0 like rembg does
			200, 100, 0, 255, 0, 0, 0, 0, 200, 100, 0, 51, 10, 20, 30, 128}},
		{"white", Options{Background: BackgroundColor, Color: color.NRGBA{255, 255, 255, 255}}, []uint8{
			200, 100, 0, 255, 255, 255, 255, 255, 244, 224, 204, 255, 132, 137, 142, 255}},
		{"half-transparent black", Options{Background: BackgroundColor, Color: color.NRGBA{0, 0, 0, 128}}, []uint8{
			// pixel 2: out alpha = 51 + 128*204/255 = 153.4; colour = 200*51/153.4 = 66.5
			200, 100, 0, 255, 0, 0, 0, 128, 66, 33, 0, 153, 7, 13, 20, 192}},
		{"transparent colour", Options{Background: BackgroundColor, Color: color.NRGBA{}}, []uint8{
			200, 100, 0, 255, 0, 0, 0, 0, 200, 100, 0, 51, 10, 20, 30, 128}},
		{"mask", Options{Background: BackgroundMask}, []uint8{
			255, 255, 255, 255, 0, 0, 0, 255, 51, 51, 51, 255, 128, 128, 128, 255}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Composite(fg, a, tc.o)
			for i := range tc.want {
				if got.Pix[i] != tc.want[i] {
					t.Fatalf("Pix = %v, want %v", got.Pix, tc.want)
				}
			}
		})
	}
}

func BenchmarkComposite(b *testing.B) {
	img, m := photoLike(4000, 3000)
	o := Options{Background: BackgroundColor, Color: color.NRGBA{0, 255, 0, 255}}
	b.ResetTimer()
	for b.Loop() {
		Composite(img, m, o)
	}
}

// TestFinishInPlaceMatchesFinish: writing over the image gives exactly Finish's result, in
// every background mode, with and without foreground estimation.
func TestFinishInPlaceMatchesFinish(t *testing.T) {
	img, mask := photoLike(120, 90)
	for _, o := range []Options{
		DefaultOptions(),
		DefaultOptionsFor(RefineGuided),
		func() Options {
			o := DefaultOptionsFor(RefineClosedForm)
			o.Background = BackgroundColor
			o.Color = color.NRGBA{0, 255, 0, 255}
			return o
		}(),
		func() Options { o := DefaultOptions(); o.Background = BackgroundMask; return o }(),
	} {
		want, err := Finish(img, mask, nil, o)
		if err != nil {
			t.Fatal(err)
		}
		own := image.NewNRGBA(img.Rect)
		copy(own.Pix, img.Pix)
		got, err := FinishInPlace(own, mask, nil, o)
		if err != nil {
			t.Fatal(err)
		}
		if got != own {
			t.Fatal("FinishInPlace did not return its image")
		}
		if !bytes.Equal(got.Pix, want.Pix) {
			t.Errorf("refine %v background %v: in-place result differs", o.Refine, o.Background)
		}
	}
}

// Over blends by the cut-out's alpha and leaves an opaque image.
func TestOver(t *testing.T) {
	fg := image.NewNRGBA(image.Rect(0, 0, 3, 1))
	copy(fg.Pix, []uint8{255, 0, 0, 255, 255, 0, 0, 0, 255, 0, 0, 128})
	bg := image.NewNRGBA(image.Rect(0, 0, 3, 1))
	copy(bg.Pix, []uint8{0, 0, 255, 255, 0, 0, 255, 255, 0, 0, 255, 255})
	got := Over(fg, bg).Pix
	want := []uint8{255, 0, 0, 255, 0, 0, 255, 255, 128, 0, 127, 255}
	for i := range want {
		if d := int(got[i]) - int(want[i]); d < -1 || d > 1 {
			t.Fatalf("Over = %v, want %v", got, want)
		}
	}
}
