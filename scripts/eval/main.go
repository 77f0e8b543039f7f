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
// the colour error of the cut-out over green against the true composite over green, in the band,
// which is what foreground estimation improves. -write saves each cut-out over red and over green.
// It exits non-zero on bad input.
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
	sad, mse, sadBand, colour float64
	hasColour                 bool
	elapsed                   time.Duration
}

var green = color.NRGBA{G: 255, A: 255}

func main() {
	set := flag.String("set", "", "evaluation set: folder with images/ and alpha/")
	masks := flag.String("masks", "", "folder with the model's raw masks NAME.png")
	fgPath := flag.String("fg", "", "optional ground-truth foreground: one PNG for all images, or a folder of NAME.png")
	write := flag.String("write", "", "optional folder for composites over red and green")
	only := flag.String("modes", "", "comma-separated subset of modes (default all: "+modeNames()+")")
	flag.Parse()
	if err := run(os.Stdout, *set, *masks, *fgPath, *write, *only); err != nil {
		fmt.Fprintln(os.Stderr, "eval:", err)
		os.Exit(1)
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
	fmt.Fprintln(tw, "image\tmode\tSAD(k)\tMSE\tSAD band(k)\tcolour err\tms\t")
	sum := make(map[string]*metrics)
	for _, path := range names {
		name := filepath.Base(path)
		in, err := load(set, masks, fgPath, name)
		if err != nil {
			return err
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
	fmt.Fprintln(tw, "\t\t\t\t\t\t\t")
	for _, m := range selected {
		s := sum[m.name]
		s.scale(1 / float64(len(names)))
		fmt.Fprintf(tw, "mean\t%s\t%s\t\n", m.name, s.row())
	}
	return tw.Flush()
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
	if o.EstimateForeground {
		fg = matte.EstimateForeground(in.img, a)
	}
	r := metrics{elapsed: time.Since(start)}
	n := float64(len(a.Pix))
	var colour, band float64
	for i, v := range a.Pix {
		t := in.gt.Pix[i]
		d := math.Abs(float64(v)-float64(t)) / 255
		r.sad += d
		r.mse += d * d / n
		if t > 0 && t < 255 {
			r.sadBand += d
			band++
		}
	}
	r.sad /= 1000
	r.sadBand /= 1000
	cut := matte.Composite(fg, a, matte.Options{Background: matte.BackgroundTransparent})
	if in.truth != nil {
		over := matte.Composite(fg, a, matte.Options{Background: matte.BackgroundColor, Color: green})
		for i, t := range in.gt.Pix {
			if t > 0 && t < 255 {
				for c := range 3 {
					colour += math.Abs(float64(over.Pix[4*i+c]) - float64(in.truth.Pix[4*i+c]))
				}
			}
		}
		r.colour, r.hasColour = colour/max(1, 3*band), true
	}
	return r, cut, nil
}

func (r metrics) row() string {
	c := "-"
	if r.hasColour {
		c = fmt.Sprintf("%.2f", r.colour)
	}
	return fmt.Sprintf("%.2f\t%.5f\t%.2f\t%s\t%d", r.sad, r.mse, r.sadBand, c, r.elapsed.Milliseconds())
}

func (s *metrics) add(r metrics) {
	s.sad += r.sad
	s.mse += r.mse
	s.sadBand += r.sadBand
	s.colour += r.colour
	s.hasColour = s.hasColour && r.hasColour
	s.elapsed += r.elapsed
}

func (s *metrics) scale(k float64) {
	s.sad *= k
	s.mse *= k
	s.sadBand *= k
	s.colour *= k
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
