package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"strings"

	"cutout/engine/validate"

	"github.com/gen2brain/webp"
)

// Output is the file format of the finished images.
type Output struct {
	// Format is "png" (the default), "webp" or "jpeg".
	Format string
	// Quality (1–100) makes a WebP lossy at that quality and sets a JPEG's; 0 means lossless
	// WebP and JPEG quality 90. PNG ignores it.
	Quality int
	// Frame crops, pads and places the cut-out on its canvas (nothing when zero).
	Frame Frame
	// BgImage, when set, is laid under the cut-out, scaled to cover the output (after the
	// framing); it was decoded by the engine like any input. BgImageID identifies its
	// content for the journal.
	BgImage   *image.NRGBA
	BgImageID string
	bgPath    string // --bg-image, read by loadBackground
	// BgBlur, when over 0, lays the cut-out over its own photo blurred with this radius (the
	// Gaussian's sigma, in pixels of the photo).
	BgBlur float64
}

// fingerprint is what of o shapes the file, as text for the journal's settings.
func (o Output) fingerprint() string {
	return fmt.Sprintf("%s q%d %+v bg %s blur %g", o.Format, o.Quality, o.Frame, o.BgImageID, o.BgBlur)
}

// Formats are the output formats, as --format spells them.
var Formats = []string{"png", "webp", "jpeg"}

// ParseOutput checks a --format and --quality pair.
func ParseOutput(format string, quality int) (Output, error) {
	f := strings.ToLower(strings.TrimSpace(format))
	switch f {
	case "", "png":
		f = "png"
	case "webp":
	case "jpeg", "jpg":
		f = "jpeg"
	default:
		return Output{}, fmt.Errorf("unknown output format %q: use png, webp or jpeg", format)
	}
	if quality < 0 || quality > 100 {
		return Output{}, fmt.Errorf("quality %d is not between 1 and 100", quality)
	}
	return Output{Format: f, Quality: quality}, nil
}

// Ext is the extension of the format's files.
func (o Output) Ext() string {
	switch o.Format {
	case "webp":
		return ".webp"
	case "jpeg":
		return ".jpg"
	}
	return ".png"
}

// opaque reports whether the format has no alpha channel, so a cut-out must be laid over a
// colour.
func (o Output) opaque() bool { return o.Format == "jpeg" }

// encoder returns the function that writes img in the format (PNG is the sink's own,
// streaming encoder and is not handled here).
func (o Output) encoder(img image.Image) func(io.Writer) error {
	switch o.Format {
	case "webp":
		opts := webp.Options{Lossless: o.Quality == 0, Quality: o.Quality, Method: 4, Exact: false}
		return func(w io.Writer) error { return webp.Encode(w, img, opts) }
	case "jpeg":
		q := o.Quality
		if q == 0 {
			q = 90
		}
		return func(w io.Writer) error { return jpeg.Encode(w, img, &jpeg.Options{Quality: q}) }
	}
	panic("app: no encoder for " + o.Format)
}

// loadBackground reads the --bg-image file into o: validated like any input and decoded by
// the (sandboxed) engine — a background is as untrusted as a photo. Its content's hash goes
// into the journal's settings, so a new background redoes the batch.
func (o *Output) loadBackground(ctx context.Context, eng Engine, lim validate.Limits) error {
	if o.bgPath == "" {
		return nil
	}
	_, data, err := validate.File(o.bgPath, lim)
	if err != nil {
		return fmt.Errorf("the background image: %w", err)
	}
	sum := sha256.Sum256(data)
	r, err := eng.Cut(ctx, o.bgPath, data)
	if err != nil {
		return fmt.Errorf("the background image: %w", fromEngine(o.bgPath, err))
	}
	o.BgImage, o.BgImageID = r.NRGBA(), hex.EncodeToString(sum[:8])
	return nil
}
