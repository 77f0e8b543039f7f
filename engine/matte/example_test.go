package matte_test

import (
	"fmt"
	"image"
	"image/color"

	"cutout/engine/matte"
)

// A 4×4 photo whose right half is the subject, with a model mask that is unsure about one pixel.
func Example() {
	img := image.NewNRGBA(image.Rect(0, 0, 4, 4))
	mask := image.NewGray(img.Rect)
	for y := range 4 {
		for x := range 4 {
			if x >= 2 {
				img.SetNRGBA(x, y, color.NRGBA{R: 200, G: 40, B: 40, A: 255})
				mask.SetGray(x, y, color.Gray{Y: 250})
			} else {
				img.SetNRGBA(x, y, color.NRGBA{R: 20, G: 20, B: 90, A: 255})
			}
		}
	}
	mask.SetGray(1, 1, color.Gray{Y: 128})

	o := matte.DefaultOptions()
	o.Background = matte.BackgroundColor
	o.Color = color.NRGBA{G: 255, A: 255} // over green
	hints := &matte.Hints{Remove: image.NewAlpha(img.Rect)}
	hints.Remove.SetAlpha(1, 1, color.Alpha{A: 255}) // the user paints the doubtful pixel away

	out, err := matte.Finish(img, mask, hints, o)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(out.NRGBAAt(0, 0), out.NRGBAAt(1, 1), out.NRGBAAt(3, 3))
	// Output: {0 255 0 255} {0 255 0 255} {196 44 39 255}
}

func ExampleParseRefine() {
	r, err := matte.ParseRefine("closed-form")
	fmt.Println(r, err, matte.DefaultOptionsFor(r).EstimateForeground)
	// Output: closed-form <nil> true
}
