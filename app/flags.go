package app

import (
	"flag"
	"fmt"
	"image/color"
	"image/png"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"cutout/engine/matte"
	"cutout/engine/validate"
	"cutout/internal/quote"
)

// parseInterspersed parses flags that may come before, between or after the positional
// arguments (`cutout remove a.jpg b.jpg -o out`), and returns the positional ones (paths).
//
// Paths come from the shell's wildcards as often as from the user's keyboard, so a path must
// never turn into a flag: a file named "--overwrite" that `*` expands must not switch
// overwriting on. The rules:
//   - "--" ends the flags: every argument after it is a path, whatever it looks like.
//   - An argument that looks like a flag but is none of this command's, and names an existing
//     file or folder, is a path ("-photo.jpg").
//   - An argument that is one of this command's flags and also names an existing file or
//     folder is ambiguous: it is refused with a usage error that says how to mean the path
//     ("--" before the paths, or "./--overwrite"). Neither guess would be safe: taking it as
//     the flag lets a file name change what the command does, taking it as a path silently
//     drops a flag the user typed.
//   - A flag's value is the next argument, whatever it looks like (`-o -out`), as the flag
//     package reads it.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			pos = append(pos, a)
			continue
		}
		name := strings.TrimPrefix(a[1:], "-")
		name, _, hasValue := strings.Cut(name, "=")
		f := fs.Lookup(name)
		_, statErr := os.Lstat(a)
		exists := statErr == nil
		switch {
		case f == nil && exists:
			pos = append(pos, a)
			continue
		case f != nil && exists:
			err := fmt.Errorf("%s is both a flag of this command and a file or folder here; to mean the file, "+
				"put the paths after -- (cutout %s -o OUT -- *) or write %s", quote.Name(a), fs.Name(), quote.Name("./"+a))
			fmt.Fprintln(fs.Output(), err)
			return nil, err
		}
		flags = append(flags, a) // a flag, or no flag at all: the flag package says which
		if f != nil && !hasValue && !isBoolFlag(f) && i+1 < len(args) {
			i++
			flags = append(flags, args[i])
		}
	}
	if err := fs.Parse(flags); err != nil {
		return nil, err
	}
	// Flags only went in, so anything left over is a value-less word the flag package
	// stopped at (a lone "-"): a path.
	return append(pos, fs.Args()...), nil
}

// isBoolFlag reports whether f takes no value of its own (-v, --overwrite).
func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
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
	strength := fs.Float64("edge-colour-strength", 100, "how much of the estimated edge colours to use, 0-100 %")
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
		o.EdgeColourStrength = *strength / 100
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

// outputFlags registers the output's format and framing: --format, --quality, --crop,
// --margin and --canvas.
func outputFlags(fs *flag.FlagSet) func() (Output, error) {
	format := fs.String("format", "png", "output format: png, webp (lossless with alpha unless --quality) or jpeg (over --bgcolor, white by default)")
	quality := fs.Int("quality", 0, "lossy quality 1-100 for webp and jpeg (default: lossless webp, jpeg 90)")
	crop := fs.Bool("crop", false, "crop to the subject (specks far smaller than it are left out)")
	margin := fs.String("margin", "", "space around the subject: pixels (40px) or a percentage of the output's longer side (5%)")
	canvas := fs.String("canvas", "", "output size WIDTHxHEIGHT: the subject is scaled to fit inside it less the margin, centred")
	bgImage := fs.String("bg-image", "", "lay the cut-out over this image `file`, scaled to cover the output")
	bgBlur := fs.Float64("bg-blur", 0, "lay the cut-out over its own photo blurred by this radius in px")
	return func() (Output, error) {
		o, err := ParseOutput(*format, *quality)
		if err != nil {
			return o, err
		}
		switch {
		case *bgBlur < 0 || *bgBlur > 500:
			return o, fmt.Errorf("--bg-blur %g: a radius from 0 to 500 px is needed", *bgBlur)
		case *bgImage != "" && *bgBlur > 0:
			return o, fmt.Errorf("--bg-image and --bg-blur cannot be used together")
		}
		o.BgBlur, o.bgPath = *bgBlur, *bgImage
		o.Frame.Crop = *crop
		if o.Frame.MarginPx, o.Frame.MarginPct, err = ParseMargin(*margin); err != nil {
			return o, err
		}
		if o.Frame.Canvas, err = ParseCanvas(*canvas); err != nil {
			return o, err
		}
		return o, nil
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
				"         Only do this with a model file you made or trust.\n", quote.Name(*unverified))
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
