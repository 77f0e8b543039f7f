// Command eval measures the matte quality of engine/matte's finishing modes against ground-truth
// alpha mattes, for `make eval`.
//
//	go run ./scripts/eval -set DIR -masks MASKDIR [-fg FILE|DIR] [-write OUTDIR]
//
// DIR holds images/NAME.png and alpha/NAME.png (8-bit ground truth, as written by
// shared/eval/compose.py); MASKDIR holds the model's raw masks NAME.png (from `cutout remove
// --mask`). For every image and mode it prints SAD (thousands, alpha in [0,1]), MSE, SAD over the
// ground truth's unknown band (0 < alpha < 1) and the time, then the mean of each mode. With -fg
// (the ground-truth foreground: one file for all images, or a folder of NAME.png) it also prints
// the colour error of the cut-out over green against the true composite over green, in the band:
// of the mode's matte with the image's own colours, with the estimated foreground
// (matte.EstimateForeground) and their ratio, which is what estimation improves. A second table
// isolates the estimation: the ground-truth alpha is the matte. -write saves each cut-out over
// red and over green.
//
// With -am (the alphamatting.com training set, as in shared/eval/alphamatting27; by default
// the alphamatting27 folder beside -fg's lemur folder, when there is one) it also scores GT04's
// green-haired troll: the share of its semi-transparent pixels whose estimated colour turns red
// (red > green + 20 where the image's is not), with the ground-truth alpha and with closed-form
// alphas from the two trimaps. It exits non-zero on bad input.
package main

import (
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"cutout/engine/matte"
)

// mode is one finishing configuration under test.
type mode struct {
	name string
	opts func(o *matte.Options)
}

var modes = []mode{
	{"raw", func(o *matte.Options) {}},
	{"postprocess", func(o *matte.Options) { o.PostProcess = true }},
	{"guided", func(o *matte.Options) { o.Refine = matte.RefineGuided }},
	{"closed-form", func(o *matte.Options) { o.Refine = matte.RefineClosedForm }},
	{"closed-form+fg", func(o *matte.Options) { o.Refine, o.EstimateForeground = matte.RefineClosedForm, true }},
}

// metrics of one image under one mode.
type metrics struct {
	sad, mse, sadBand float64
	colour, estimated float64 // colour error with the image's colours, with the estimate
	hasColour         bool
	elapsed           time.Duration
}

var green = color.NRGBA{G: 255, A: 255}

func main() {
	set := flag.String("set", "", "evaluation set: folder with images/ and alpha/")
	masks := flag.String("masks", "", "folder with the model's raw masks NAME.png")
	fgPath := flag.String("fg", "", "optional ground-truth foreground: one PNG for all images, or a folder of NAME.png")
	write := flag.String("write", "", "optional folder for composites over red and green")
	am := flag.String("am", "", "optional alphamatting.com training set (images/, masks/, trimaps1/, trimaps2/); default: alphamatting27 beside -fg's folder")
	only := flag.String("modes", "", "comma-separated subset of modes (default all: "+modeNames()+")")
	flag.Parse()
	if err := run(os.Stdout, *set, *masks, *fgPath, *write, *only); err != nil {
		fmt.Fprintln(os.Stderr, "eval:", err)
		os.Exit(1)
	}
	if *am == "" && *fgPath != "" {
		if d := filepath.Join(filepath.Dir(filepath.Dir(*fgPath)), "alphamatting27"); isDir(d) {
			*am = d
		}
	}
	if *am != "" {
		if err := troll(os.Stdout, *am); err != nil {
			fmt.Fprintln(os.Stderr, "eval:", err)
			os.Exit(1)
		}
	}
}

func modeNames() string {
	var n []string
	for _, m := range modes {
		n = append(n, m.name)
	}
	return strings.Join(n, ",")
}

func run(w io.Writer, set, masks, fgPath, write, only string) error {
	if set == "" || masks == "" {
		return errors.New("need -set DIR and -masks DIR")
	}
	selected, err := selectModes(only)
	if err != nil {
		return err
	}
	names, err := filepath.Glob(filepath.Join(set, "images", "*.png"))
	if err != nil || len(names) == 0 {
		return fmt.Errorf("no images/*.png in %s", set)
	}
	sort.Strings(names)
	if write != "" {
		if err := os.MkdirAll(write, 0o755); err != nil {
			return err
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "image\tmode\tSAD(k)\tMSE\tSAD band(k)\tcolour err\testimated\tratio\tms\t")
	sum := make(map[string]*metrics)
	var isolated []isolatedRow
	for _, path := range names {
		name := filepath.Base(path)
		in, err := load(set, masks, fgPath, name)
		if err != nil {
			return err
		}
		if in.truth != nil {
			start := time.Now()
			est := matte.EstimateForeground(in.img, in.gt)
			isolated = append(isolated, isolatedRow{strings.TrimSuffix(name, ".png"),
				colourError(in, in.img, in.gt), colourError(in, est, in.gt), time.Since(start)})
		}
		for _, m := range selected {
			r, out, err := evaluate(in, m)
			if err != nil {
				return fmt.Errorf("%s, %s: %w", name, m.name, err)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t\n", strings.TrimSuffix(name, ".png"), m.name, r.row())
			s := sum[m.name]
			if s == nil {
				s = &metrics{hasColour: true}
				sum[m.name] = s
			}
			s.add(r)
			if write != "" {
				if err := writeComposites(write, name, m.name, out); err != nil {
					return err
				}
			}
		}
	}
	fmt.Fprintln(tw, "\t\t\t\t\t\t\t\t\t")
	for _, m := range selected {
		s := sum[m.name]
		s.scale(1 / float64(len(names)))
		fmt.Fprintf(tw, "mean\t%s\t%s\t\n", m.name, s.row())
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(isolated) == 0 {
		return nil
	}
	// The estimation alone: with the true alpha as the matte, what is left of the colour error
	// is the colours'.
	fmt.Fprintln(w, "\nforeground estimation with the ground-truth alpha as the matte (colour error over green, band):")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "image\timage's colours\testimated\tratio\tms\t")
	for _, r := range isolated {
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%.3f\t%d\t\n", r.name, r.plain, r.est, r.est/r.plain, r.elapsed.Milliseconds())
	}
	return tw.Flush()
}

// isolatedRow is the colour error of one image with the true alpha as the matte.
type isolatedRow struct {
	name       string
	plain, est float64
	elapsed    time.Duration
}

// colourError is the mean absolute difference, per channel in 0..255, between fg under the
// matte a over green and the true composite, over the ground truth's unknown band.
func colourError(in *input, fg *image.NRGBA, a *image.Gray) float64 {
	over := matte.Composite(fg, a, matte.Options{Background: matte.BackgroundColor, Color: green})
	var sum float64
	n := 0
	for i, t := range in.gt.Pix {
		if t > 0 && t < 255 {
			for c := range 3 {
				sum += math.Abs(float64(over.Pix[4*i+c]) - float64(in.truth.Pix[4*i+c]))
			}
			n += 3
		}
	}
	return sum / float64(max(1, n))
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

func selectModes(only string) ([]mode, error) {
	if only == "" {
		return modes, nil
	}
	var out []mode
	for _, n := range strings.Split(only, ",") {
		found := false
		for _, m := range modes {
			if m.name == strings.TrimSpace(n) {
				out, found = append(out, m), true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown mode %q (want %s)", n, modeNames())
		}
	}
	return out, nil
}

// input is one image of the set with its ground truth and mask.
type input struct {
	img   *image.NRGBA
	gt    *image.Gray
	mask  *image.Gray
	truth *image.NRGBA // true composite over green, or nil without -fg
}

func load(set, masks, fgPath, name string) (*input, error) {
	img, err := readImage(filepath.Join(set, "images", name))
	if err != nil {
		return nil, err
	}
	gtImg, err := readImage(filepath.Join(set, "alpha", name))
	if err != nil {
		return nil, err
	}
	maskImg, err := readImage(filepath.Join(masks, name))
	if err != nil {
		return nil, err
	}
	in := &input{img: img, gt: toGray(gtImg), mask: toGray(maskImg)}
	if in.gt.Rect.Size() != img.Rect.Size() || in.mask.Rect.Size() != img.Rect.Size() {
		return nil, fmt.Errorf("%s: image %v, alpha %v and mask %v differ in size", name, img.Rect.Size(), in.gt.Rect.Size(), in.mask.Rect.Size())
	}
	if fgPath != "" {
		p := fgPath
		if st, err := os.Stat(fgPath); err == nil && st.IsDir() {
			p = filepath.Join(fgPath, name)
		}
		fg, err := readImage(p)
		if err != nil {
			return nil, err
		}
		if fg.Rect.Size() != img.Rect.Size() {
			return nil, fmt.Errorf("%s: foreground %v differs from image %v", p, fg.Rect.Size(), img.Rect.Size())
		}
		in.truth = matte.Composite(fg, in.gt, matte.Options{Background: matte.BackgroundColor, Color: green})
	}
	return in, nil
}

func readImage(path string) (*image.NRGBA, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	src, err := png.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	b := src.Bounds()
	dst := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(dst, dst.Rect, src, b.Min, draw.Src)
	return dst, nil
}

// toGray takes the red channel (ground truth and masks are grey, sometimes stored as RGB).
func toGray(img *image.NRGBA) *image.Gray {
	g := image.NewGray(img.Rect)
	for i := range g.Pix {
		g.Pix[i] = img.Pix[4*i]
	}
	return g
}

func evaluate(in *input, m mode) (metrics, *image.NRGBA, error) {
	o := matte.DefaultOptions()
	m.opts(&o)
	start := time.Now()
	a, err := matte.Alpha(in.img, in.mask, nil, o)
	if err != nil {
		return metrics{}, nil, err
	}
	fg := in.img
	var est *image.NRGBA
	if o.EstimateForeground {
		est = matte.EstimateForeground(in.img, a)
		fg = est
	}
	r := metrics{elapsed: time.Since(start)}
	n := float64(len(a.Pix))
	for i, v := range a.Pix {
		t := in.gt.Pix[i]
		d := math.Abs(float64(v)-float64(t)) / 255
		r.sad += d
		r.mse += d * d / n
		if t > 0 && t < 255 {
			r.sadBand += d
		}
	}
	r.sad /= 1000
	r.sadBand /= 1000
	cut := matte.Composite(fg, a, matte.Options{Background: matte.BackgroundTransparent})
	if in.truth != nil {
		if est == nil {
			est = matte.EstimateForeground(in.img, a)
		}
		r.colour, r.estimated, r.hasColour = colourError(in, in.img, a), colourError(in, est, a), true
	}
	return r, cut, nil
}

func (r metrics) row() string {
	c := "-\t-\t-"
	if r.hasColour {
		c = fmt.Sprintf("%.2f\t%.2f\t%.3f", r.colour, r.estimated, r.estimated/r.colour)
	}
	return fmt.Sprintf("%.2f\t%.5f\t%.2f\t%s\t%d", r.sad, r.mse, r.sadBand, c, r.elapsed.Milliseconds())
}

func (s *metrics) add(r metrics) {
	s.sad += r.sad
	s.mse += r.mse
	s.sadBand += r.sadBand
	s.colour += r.colour
	s.estimated += r.estimated
	s.hasColour = s.hasColour && r.hasColour
	s.elapsed += r.elapsed
}

func (s *metrics) scale(k float64) {
	s.sad *= k
	s.mse *= k
	s.sadBand *= k
	s.colour *= k
	s.estimated *= k
	s.elapsed = time.Duration(float64(s.elapsed) * k)
}

// writeComposites saves the cut-out over pure red and pure green.
func writeComposites(dir, name, mode string, cut *image.NRGBA) error {
	a := image.NewGray(cut.Rect)
	for i := range a.Pix {
		a.Pix[i] = cut.Pix[4*i+3]
	}
	base := strings.TrimSuffix(name, ".png") + "_" + mode
	for _, bg := range []struct {
		name string
		c    color.NRGBA
	}{{"red", color.NRGBA{R: 255, A: 255}}, {"green", green}} {
		out := matte.Composite(cut, a, matte.Options{Background: matte.BackgroundColor, Color: bg.c})
		if err := writePNG(filepath.Join(dir, base+"_"+bg.name+".png"), out); err != nil {
			return err
		}
	}
	return nil
}

func writePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}
