package app

import (
	"flag"
	"fmt"
	"image/color"
	"image/png"
	"io"
	"strconv"
	"strings"
	"time"

	"cutout/engine/matte"
	"cutout/engine/validate"
)

// parseInterspersed parses flags that may come before, between or after the positional
// arguments (`cutout remove a.jpg b.jpg -o out`), and returns the positional ones. A lone
// "--" ends flag parsing.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// matteFlags registers the finishing flags on fs and returns a function that builds the
// options once fs is parsed.
func matteFlags(fs *flag.FlagSet) func() (matte.Options, error) {
	d := matte.DefaultOptions()
	mask := fs.Bool("mask", false, "write the mask alone (grey PNG) instead of the cut-out")
	bg := fs.String("bgcolor", "", "composite over this colour (#RRGGBB) instead of transparency")
	matting := fs.Bool("matting", false, "alpha matting, like rembg -a: same as --refine closed-form")
	refine := fs.String("refine", "none", "edge refinement: none, guided or closed-form")
	fgT := fs.Int("fg-threshold", d.FGThreshold, "alpha matting: mask values above this are certain foreground (0-255)")
	bgT := fs.Int("bg-threshold", d.BGThreshold, "alpha matting: mask values below this are certain background (0-255)")
	erode := fs.Int("erode", d.Erode, "alpha matting: width in px of the band left for matting")
	base := fs.Int("base-size", d.BaseSize, "alpha matting: working size (longer side, px)")
	post := fs.Bool("post-process", false, "clean the mask like rembg's --post-process-mask (opening, blur, threshold)")
	feather := fs.Float64("feather", 0, "soften the edge by this many px")
	shift := fs.Int("shift", 0, "grow (+) or shrink (-) the edge by this many px")
	noFG := fs.Bool("no-fg-estimation", false, "keep original colours at soft edges (closed-form refinement estimates the foreground colour by default)")
	return func() (matte.Options, error) {
		r, err := matte.ParseRefine(*refine)
		if err != nil {
			return matte.Options{}, err
		}
		if *matting {
			r = matte.RefineClosedForm
		}
		o := matte.DefaultOptionsFor(r)
		o.FGThreshold, o.BGThreshold, o.Erode, o.BaseSize = *fgT, *bgT, *erode, *base
		o.PostProcess, o.Feather, o.Shift = *post, *feather, *shift
		if *noFG {
			o.EstimateForeground = false
		}
		switch {
		case *mask && *bg != "":
			return o, fmt.Errorf("--mask and --bgcolor cannot be used together")
		case *mask:
			o.Background = matte.BackgroundMask
		case *bg != "":
			c, err := ParseColor(*bg)
			if err != nil {
				return o, err
			}
			o.Background, o.Color = matte.BackgroundColor, c
		}
		return o, o.Validate()
	}
}

// ParseColor reads #RRGGBB (or RRGGBB, or #RGB).
func ParseColor(s string) (color.NRGBA, error) {
	h := strings.TrimPrefix(strings.TrimSpace(s), "#")
	if len(h) == 3 {
		h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
	}
	if len(h) != 6 {
		return color.NRGBA{}, fmt.Errorf("colour %q: want #RRGGBB", s)
	}
	v, err := strconv.ParseUint(h, 16, 32)
	if err != nil {
		return color.NRGBA{}, fmt.Errorf("colour %q: want #RRGGBB", s)
	}
	return color.NRGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 255}, nil
}

// limitFlags registers the validation caps on fs.
func limitFlags(fs *flag.FlagSet) func() validate.Limits {
	d := validate.DefaultLimits()
	maxMB := fs.Int64("max-mb", d.MaxBytes>>20, "refuse files larger than this many MiB")
	maxSide := fs.Int("max-side", d.MaxWidth, "refuse images wider or taller than this many px")
	maxMP := fs.Float64("max-megapixels", float64(d.MaxPixels)/1e6, "refuse images with more megapixels than this")
	return func() validate.Limits {
		return validate.Limits{MaxBytes: *maxMB << 20, MaxWidth: *maxSide, MaxHeight: *maxSide, MaxPixels: int64(*maxMP * 1e6)}
	}
}

// engineFlags registers the flags that choose and limit the engine (shared by remove and
// watch) and returns a function that, once fs is parsed, gives the engine's configuration and
// the PNG compression, warning loudly on stderr when a model is loaded unverified.
func engineFlags(fs *flag.FlagSet) func(lim validate.Limits, stderr io.Writer) (SupervisorConfig, png.CompressionLevel) {
	model := fs.String("model", "", "model name from models/models.toml (default: the manifest's default)")
	threads := fs.Int("threads", 0, "inference threads (default: one per core)")
	device := fs.String("device", "auto", "run the model on: auto (CUDA when available, else the CPU), cpu or cuda")
	fast := fs.Bool("fast-png", true, "favour PNG encoding speed over file size")
	unverified := fs.String("allow-unverified-model", "", "load this model `file` WITHOUT a checksum (your own models only)")
	memory := fs.Uint64("engine-memory", DefaultMemoryLimit>>20, "the engine's memory limit in MiB")
	timeout := fs.Duration("timeout", 120*time.Second, "give up on an image after this long")
	verbose := fs.Bool("v", false, "log engine starts and restarts")
	return func(lim validate.Limits, stderr io.Writer) (SupervisorConfig, png.CompressionLevel) {
		if *unverified != "" {
			fmt.Fprintf(stderr, "WARNING: loading %s WITHOUT checksum verification (--allow-unverified-model).\n"+
				"         Only do this with a model file you made or trust.\n", *unverified)
		}
		level := png.DefaultCompression
		if *fast {
			level = png.BestSpeed
		}
		return SupervisorConfig{
			EngineConfig: EngineConfig{Model: *model, Threads: *threads, UnverifiedModel: *unverified, Device: *device},
			MemoryLimit:  *memory << 20, JobTimeout: *timeout, Limits: lim, Log: logTo(stderr, *verbose), Notice: stderr,
		}, level
	}
}

// logTo returns w when on is set, else a writer that drops everything.
func logTo(w io.Writer, on bool) io.Writer {
	if on {
		return w
	}
	return io.Discard
}
