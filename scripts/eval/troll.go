package main

import (
	"fmt"
	"image"
	"io"
	"path/filepath"
	"text/tabwriter"
	"time"

	"cutout/engine/matte"
)

// inTroll is the hair of GT04's right-hand, green-haired troll (the photo is 800 × 563): right
// of x = 500 and above its face at y = 340, less the top-left corner where the pink troll's
// hair crosses over.
func inTroll(x, y int) bool { return x >= 500 && y < 340 && !(x < 650 && y < 150) }

// troll scores the estimation on GT04's green hair, for the ground-truth alpha and the
// closed-form alphas of the two trimaps: the share of semi-transparent hair pixels (of that
// matte) whose estimated colour is red (red > green + 20) where the image's own is not, and
// the mean colour of those pixels before and after.
func troll(w io.Writer, dir string) error {
	img, err := readImage(filepath.Join(dir, "images", "GT04.png"))
	if err != nil {
		return err
	}
	gt, err := readImage(filepath.Join(dir, "masks", "GT04.png"))
	if err != nil {
		return err
	}
	mattes := []struct {
		name string
		a    *image.Gray
	}{{"ground truth", toGray(gt)}}
	for _, t := range []string{"trimaps1", "trimaps2"} {
		tri, err := readImage(filepath.Join(dir, t, "GT04.png"))
		if err != nil {
			return err
		}
		a, err := matte.ClosedForm(img, toGray(tri), matte.CFOptions{})
		if err != nil {
			return err
		}
		mattes = append(mattes, struct {
			name string
			a    *image.Gray
		}{"closed-form, " + t, a})
	}
	fmt.Fprintln(w, "\nGT04, the green-haired troll: semi-transparent hair pixels that turn red (red > green + 20):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "matte\tpixels\tturned red\tmean colour before\tafter\tms\t")
	for _, m := range mattes {
		start := time.Now()
		fg := matte.EstimateForeground(img, m.a)
		elapsed := time.Since(start)
		n, red := 0, 0
		var before, after [3]float64
		width := img.Rect.Dx()
		for i, v := range m.a.Pix {
			if v == 0 || v == 255 || !inTroll(i%width, i/width) {
				continue
			}
			p, q := img.Pix[4*i:4*i+3], fg.Pix[4*i:4*i+3]
			n++
			for c := range 3 {
				before[c] += float64(p[c])
				after[c] += float64(q[c])
			}
			if int(q[0]) > int(q[1])+20 && int(p[0]) <= int(p[1])+20 {
				red++
			}
		}
		if n == 0 {
			return fmt.Errorf("%s: GT04 has no semi-transparent hair pixels", m.name)
		}
		for c := range 3 {
			before[c] /= float64(n)
			after[c] /= float64(n)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.1f %%\t%.0f\t%.0f\t%d\t\n", m.name, n, 100*float64(red)/float64(n), before, after, elapsed.Milliseconds())
	}
	return tw.Flush()
}
