package validate

import (
	"errors"
	"math"
	"strconv"
)

// Default caps. A 16384 × 16384 image is already 268 megapixels, so the pixel
// cap is the one that usually binds; 100 megapixels of 16-bit RGBA is 800 MB
// once decoded, which the engine's memory limit must still allow.
const (
	DefaultMaxBytes  int64 = 64 << 20
	DefaultMaxWidth        = 16384
	DefaultMaxHeight       = 16384
	DefaultMaxPixels int64 = 100_000_000
)

// Limits are the caps; zero (or negative) fields mean the defaults.
type Limits struct {
	MaxBytes  int64 // file size in bytes (default 64 MiB)
	MaxWidth  int   // width in pixels (default 16384)
	MaxHeight int   // height in pixels (default 16384)
	MaxPixels int64 // width × height (default 100,000,000)
}

// DefaultLimits returns the default caps with every field filled in.
func DefaultLimits() Limits {
	return Limits{
		MaxBytes:  DefaultMaxBytes,
		MaxWidth:  DefaultMaxWidth,
		MaxHeight: DefaultMaxHeight,
		MaxPixels: DefaultMaxPixels,
	}
}

// Resolved returns lim with every unset field replaced by its default (the engine is given
// the same limits the app checked).
func (lim Limits) Resolved() Limits {
	d := DefaultLimits()
	if lim.MaxBytes <= 0 {
		lim.MaxBytes = d.MaxBytes
	}
	if lim.MaxWidth <= 0 {
		lim.MaxWidth = d.MaxWidth
	}
	if lim.MaxHeight <= 0 {
		lim.MaxHeight = d.MaxHeight
	}
	if lim.MaxPixels <= 0 {
		lim.MaxPixels = d.MaxPixels
	}
	return lim
}

// ErrTooComplex means the file is within the caps but its structure would
// make decoding take far longer than any real photo of that size: hundreds
// of JPEG scans over a full frame, millions of tiny TIFF tiles.
var ErrTooComplex = errors.New("too costly to decode")

// tooComplex reports a file whose decoding work is over its budget; reason
// says why, in words, after "would take too long to decode: ".
func tooComplex(reason string) *Error {
	return refuse("", ErrTooComplex, "would take too long to decode: %s; files built like this are made to stall decoders", reason)
}

// ratio prints work/budget (over 1) rounded up to one decimal, so that a
// file just over its budget never reads "1.0 times".
func ratio(work, budget int64) string {
	r := math.Ceil(float64(work)/float64(budget)*10) / 10
	return strconv.FormatFloat(r, 'f', 1, 64)
}

// megapixels names a pixel cap the way the messages do: "100-megapixel".
func megapixels(pixels int64) string {
	return strconv.FormatFloat(math.Round(float64(pixels)/1e5)/10, 'f', -1, 64) + "-megapixel"
}
