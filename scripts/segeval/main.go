// Command segeval scores a model's masks against binary ground truth (a salient-object set such
// as ECSSD), for `make eval-seg`:
//
//	go run ./scripts/segeval -truth TRUTHDIR MASKDIR...
//
// TRUTHDIR holds NAME.png (white object on black); each MASKDIR holds the model's raw masks
// NAME.png (from `cutout remove --mask`), at the same size. For each MASKDIR it prints the mean
// absolute error (masks and truth in [0,1]) and the maximum F-measure (β² = 0.3, precision and
// recall averaged over the images at each of 255 thresholds), the two figures the U²-Net and
// ISNet papers report. It exits non-zero on bad input.
package main

import (
	"errors"
	"flag"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"sort"
)

func main() {
	truth := flag.String("truth", "", "folder with the ground-truth masks NAME.png")
	flag.Parse()
	if *truth == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: segeval -truth DIR MASKDIR...")
		os.Exit(2)
	}
	fmt.Printf("%-28s %7s %7s %6s\n", "masks", "MAE", "max F", "images")
	for _, dir := range flag.Args() {
		s, err := score(*truth, dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, "segeval:", err)
			os.Exit(1)
		}
		fmt.Printf("%-28s %7.4f %7.4f %6d\n", filepath.Base(dir), s.mae, s.maxF, s.n)
	}
}

type scores struct {
	mae, maxF float64
	n         int
}

// score compares every mask of dir with its ground truth.
func score(truthDir, dir string) (scores, error) {
	names, err := filepath.Glob(filepath.Join(truthDir, "*.png"))
	if err != nil || len(names) == 0 {
		return scores{}, fmt.Errorf("no ground truth *.png in %s", truthDir)
	}
	sort.Strings(names)
	var s scores
	var precision, recall [levels]float64
	for _, t := range names {
		name := filepath.Base(t)
		gt, err := readGray(t)
		if err != nil {
			return s, err
		}
		m, err := readGray(filepath.Join(dir, name))
		if err != nil {
			return s, err
		}
		if gt.Bounds().Size() != m.Bounds().Size() {
			return s, fmt.Errorf("%s: mask is %v, ground truth %v", name, m.Bounds().Size(), gt.Bounds().Size())
		}
		mae, p, r := compare(m, gt)
		s.mae += mae
		for k := range precision {
			precision[k] += p[k]
			recall[k] += r[k]
		}
		s.n++
	}
	s.mae /= float64(s.n)
	const beta2 = 0.3
	for k := range precision {
		p, r := precision[k]/float64(s.n), recall[k]/float64(s.n)
		if p+r > 0 {
			s.maxF = max(s.maxF, (1+beta2)*p*r/(beta2*p+r))
		}
	}
	return s, nil
}

// levels is the number of thresholds: the object is the mask at or above k, k = 1…255.
const levels = 255

// compare gives the mean absolute error of mask m against the truth gt, and the precision and
// recall of m thresholded at each level (index k-1: m ≥ k), with gt ≥ 128 the object.
func compare(m, gt *image.Gray) (mae float64, precision, recall [levels]float64) {
	var hist [2][256]int // mask values of the background / object pixels
	var sum int
	b := m.Bounds()
	for y := 0; y < b.Dy(); y++ {
		mr := m.Pix[y*m.Stride : y*m.Stride+b.Dx()]
		gr := gt.Pix[y*gt.Stride : y*gt.Stride+b.Dx()]
		for x, v := range mr {
			d := int(v) - int(gr[x])
			sum += max(d, -d)
			obj := 0
			if gr[x] >= 128 {
				obj = 1
			}
			hist[obj][v]++
		}
	}
	mae = float64(sum) / 255 / float64(b.Dx()*b.Dy())
	objects := 0
	for _, c := range hist[1] {
		objects += c
	}
	tp, fp := 0, 0 // pixels at or above the threshold, counted from the top down
	for k := 255; k >= 1; k-- {
		tp += hist[1][k]
		fp += hist[0][k]
		if tp+fp > 0 {
			precision[k-1] = float64(tp) / float64(tp+fp)
		}
		if objects > 0 {
			recall[k-1] = float64(tp) / float64(objects)
		}
	}
	return mae, precision, recall
}

func readGray(path string) (*image.Gray, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if g, ok := img.(*image.Gray); ok {
		return g, nil
	}
	if img.Bounds().Empty() {
		return nil, errors.New(path + ": empty image")
	}
	// Ground truth stored as RGB (R = G = B) or with alpha: take its luminance.
	g := image.NewGray(img.Bounds())
	draw.Draw(g, g.Bounds(), img, img.Bounds().Min, draw.Src)
	return g, nil
}
