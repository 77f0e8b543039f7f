package matte

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"strings"
)

// Refine selects how the model's mask is refined into an alpha matte.
type Refine int

// The refinement methods.
const (
	RefineNone       Refine = iota // use the model's mask as it is
	RefineGuided                   // guided filter with the image as guide: fast, for previews
	RefineClosedForm               // closed-form matting over a trimap: slow, best edges
)

var refineNames = [...]string{"none", "guided", "closed-form"}

// String returns the name that ParseRefine accepts.
func (r Refine) String() string {
	if r < 0 || int(r) >= len(refineNames) {
		return fmt.Sprintf("Refine(%d)", int(r))
	}
	return refineNames[r]
}

// ParseRefine parses "none", "guided" or "closed-form" (case-insensitive).
func ParseRefine(s string) (Refine, error) {
	for i, n := range refineNames {
		if strings.EqualFold(strings.TrimSpace(s), n) {
			return Refine(i), nil
		}
	}
	return 0, fmt.Errorf("unknown refinement %q (want none, guided or closed-form)", s)
}

// Background selects what the cut-out is composited over.
type Background int

// The backgrounds.
const (
	BackgroundTransparent Background = iota // RGBA with the matte as alpha
	BackgroundColor                         // over Options.Color
	BackgroundMask                          // the matte alone, as an opaque grey image
)

var backgroundNames = [...]string{"transparent", "color", "mask"}

// String returns the name that ParseBackground accepts.
func (b Background) String() string {
	if b < 0 || int(b) >= len(backgroundNames) {
		return fmt.Sprintf("Background(%d)", int(b))
	}
	return backgroundNames[b]
}

// ParseBackground parses "transparent", "color" or "mask" (case-insensitive).
func ParseBackground(s string) (Background, error) {
	for i, n := range backgroundNames {
		if strings.EqualFold(strings.TrimSpace(s), n) {
			return Background(i), nil
		}
	}
	return 0, fmt.Errorf("unknown background %q (want transparent, color or mask)", s)
}

// Options is the one struct the CLI flags and the GUI bind to. The zero value is not useful:
// start from DefaultOptions (or DefaultOptionsFor) and change what the user changed.
type Options struct {
	// FGThreshold: mask values above it are certain foreground in the trimap (0..255, default
	// 240, rembg's alpha_matting_foreground_threshold). Used by RefineClosedForm.
	FGThreshold int
	// BGThreshold: mask values below it are certain background (0..255, default 10, at most
	// FGThreshold). Used by RefineClosedForm.
	BGThreshold int
	// Erode is rembg's alpha_matting_erode_size: the side, in pixels of the full-size image, of
	// the square that erodes both certain regions, so the unknown band that closed-form matting
	// solves grows by Erode/2 px on each side of every edge (default 10). Erode/2 is the radius
	// passed to Trimap. (Measured on the lemur composites: radius 5 beats radius 10.)
	Erode int
	// BaseSize is the longer side of the working copy on which the trimap is solved (default
	// 1000): larger images are matted at this size and the alpha is brought back to full size.
	BaseSize int
	// Refine selects the refinement (default RefineNone).
	Refine Refine
	// EstimateForeground makes Finish replace the colours of semi-transparent pixels by the
	// estimated foreground colours (Germer et al.'s multi-level method), removing the halo of the
	// old background. DefaultOptionsFor turns it on exactly when Refine is RefineClosedForm, the
	// mode that produces wide soft edges; DefaultOptions (RefineNone) leaves it off.
	EstimateForeground bool
	// EdgeColourStrength blends the colours of the edge between the image's own (0) and the
	// estimated foreground (1, the default); it matters only with EstimateForeground. Values
	// in between keep some of the old background's tint, for photos where the estimate
	// overshoots (a matte far too thin on hair makes the estimate exaggerate the difference
	// from the background).
	EdgeColourStrength float64
	// PostProcess applies rembg's post_process_mask to the model's mask before anything else:
	// a morphological opening, a Gaussian blur and a threshold, leaving a binary mask.
	PostProcess bool
	// Feather softens the edge of the final matte by this many pixels (Gaussian, sigma = Feather/2;
	// default 0).
	Feather float64
	// Shift grows (> 0) or shrinks (< 0) the final matte by this many pixels (default 0).
	Shift int
	// GuidedRadius is the guided filter's window radius in pixels of the full image; 0 picks
	// max(2, longer side/100). Used by RefineGuided.
	GuidedRadius int
	// GuidedEps is the guided filter's regularisation, in squared intensity units of [0,1]
	// (default 1e-4): smaller follows image edges more closely. Used by RefineGuided.
	GuidedEps float64
	// Background selects the composite (default BackgroundTransparent).
	Background Background
	// Color is the colour the cut-out is composited over with BackgroundColor.
	Color color.NRGBA
}

// NeedsImage reports whether finishing reads the image's colours for more than the composite:
// a refinement (guided or closed-form) or a foreground estimate the output shows. When it is
// false the matte depends on the mask alone (see FinishedRows).
func (o Options) NeedsImage() bool {
	return o.Refine != RefineNone || o.estimates()
}

// estimates reports whether finishing estimates the foreground colours: asked for, shown and
// not blended away entirely.
func (o Options) estimates() bool {
	return o.EstimateForeground && o.Background != BackgroundMask && o.EdgeColourStrength > 0
}

// Scaled adapts o, whose distances are in pixels of the photo, to a copy of the photo scale
// times its size (a preview), so that the copy's finish looks like the full-size one: the
// erosion, shift, feather, guided radius and matting size shrink with it; a distance that
// would round to 0 stays one pixel. Every field is either a distance, scaled here, or
// scale-free (TestScaledCoversEveryField holds the list).
func (o Options) Scaled(scale float64) Options {
	if scale == 1 {
		return o
	}
	px := func(v int) int {
		if v == 0 {
			return 0
		}
		r := int(math.Round(float64(v) * scale))
		if r == 0 {
			if v < 0 {
				return -1
			}
			return 1
		}
		return r
	}
	o.Erode = px(o.Erode)
	o.Shift = px(o.Shift)
	o.Feather *= scale
	o.GuidedRadius = px(o.GuidedRadius)
	o.BaseSize = max(MinBaseSize, int(math.Round(float64(o.BaseSize)*scale)))
	return o
}

// DefaultOptions returns the defaults: rembg's thresholds, no refinement, transparent output.
func DefaultOptions() Options { return DefaultOptionsFor(RefineNone) }

// DefaultOptionsFor returns the defaults for refinement r, with EstimateForeground on exactly
// when r is RefineClosedForm.
func DefaultOptionsFor(r Refine) Options {
	return Options{
		FGThreshold:        240,
		BGThreshold:        10,
		Erode:              10,
		BaseSize:           1000,
		Refine:             r,
		EstimateForeground: r == RefineClosedForm,
		EdgeColourStrength: 1,
		GuidedEps:          1e-4,
		Background:         BackgroundTransparent,
		Color:              color.NRGBA{R: 255, G: 255, B: 255, A: 255},
	}
}

// Limits that Validate enforces.
const (
	MinBaseSize = 16   // smallest working size for closed-form matting
	MaxBaseSize = 8192 // largest working size (memory grows with its square)
	MaxRadius   = 1000 // largest Erode, |Shift|, Feather and GuidedRadius, in pixels
)

// Validate reports every out-of-range value, in words a user can act on.
func (o Options) Validate() error {
	var errs []error
	if o.FGThreshold < 0 || o.FGThreshold > 255 {
		errs = append(errs, fmt.Errorf("foreground threshold %d is outside 0..255", o.FGThreshold))
	}
	if o.BGThreshold < 0 || o.BGThreshold > 255 {
		errs = append(errs, fmt.Errorf("background threshold %d is outside 0..255", o.BGThreshold))
	}
	if o.BGThreshold > o.FGThreshold {
		errs = append(errs, fmt.Errorf("background threshold %d is above foreground threshold %d", o.BGThreshold, o.FGThreshold))
	}
	if o.Erode < 0 || o.Erode > MaxRadius {
		errs = append(errs, fmt.Errorf("erode size %d is outside 0..%d px", o.Erode, MaxRadius))
	}
	if o.BaseSize < MinBaseSize || o.BaseSize > MaxBaseSize {
		errs = append(errs, fmt.Errorf("base size %d is outside %d..%d px", o.BaseSize, MinBaseSize, MaxBaseSize))
	}
	if o.Refine < RefineNone || o.Refine > RefineClosedForm {
		errs = append(errs, fmt.Errorf("unknown refinement %d", int(o.Refine)))
	}
	if math.IsNaN(o.Feather) || o.Feather < 0 || o.Feather > MaxRadius {
		errs = append(errs, fmt.Errorf("feather %v is outside 0..%d px", o.Feather, MaxRadius))
	}
	if o.Shift < -MaxRadius || o.Shift > MaxRadius {
		errs = append(errs, fmt.Errorf("shift %d is outside -%d..%d px", o.Shift, MaxRadius, MaxRadius))
	}
	if o.GuidedRadius < 0 || o.GuidedRadius > MaxRadius {
		errs = append(errs, fmt.Errorf("guided filter radius %d is outside 0..%d px", o.GuidedRadius, MaxRadius))
	}
	if math.IsNaN(o.GuidedEps) || o.GuidedEps < 0 || o.GuidedEps > 1 {
		errs = append(errs, fmt.Errorf("guided filter epsilon %v is outside 0..1", o.GuidedEps))
	}
	if math.IsNaN(o.EdgeColourStrength) || o.EdgeColourStrength < 0 || o.EdgeColourStrength > 1 {
		errs = append(errs, fmt.Errorf("edge colour strength %v is outside 0..1", o.EdgeColourStrength))
	}
	if o.Background < BackgroundTransparent || o.Background > BackgroundMask {
		errs = append(errs, fmt.Errorf("unknown background %d", int(o.Background)))
	}
	if len(errs) > 0 {
		return fmt.Errorf("matte options: %w", errors.Join(errs...))
	}
	return nil
}
