package validate

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"strings"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"
)

// Info is what validation learned.
type Info struct {
	Path   string // the path or name as given
	Format Format // the sniffed format, which the extension agrees with
	Width  int    // width in pixels, from the header
	Height int    // height in pixels, from the header
	Size   int64  // size in bytes
}

// Bytes runs the same checks as File on bytes already in memory: the byte
// cap, sniffing, the name's extension, the format's own structural checks,
// the header's DecodeConfig, and the dimension and pixel caps. name is used
// for the extension check and in messages; it is never opened.
func Bytes(name string, data []byte, lim Limits) (Info, error) {
	lim = lim.Resolved()
	if len(data) == 0 {
		return Info{}, refuse(name, ErrEmpty, "is empty (0 bytes)")
	}
	if int64(len(data)) > lim.MaxBytes {
		return Info{}, tooLarge(name, int64(len(data)), lim.MaxBytes)
	}
	format, err := Sniff(data)
	if err != nil {
		return Info{}, withPath(err, name)
	}
	if err := checkExtension(name, format); err != nil {
		return Info{}, err
	}
	// Our own header parse comes first: it bounds the dimensions before any
	// third-party code sees the file and catches what DecodeConfig cannot
	// (truncation after the header, appended archives, hostile offsets).
	w, h, err := checkStructure(format, data, lim)
	if err != nil {
		return Info{}, withPath(err, name)
	}
	info := Info{Path: name, Format: format, Width: w, Height: h, Size: int64(len(data))}
	if format == HEIF || format == AVIF {
		// No Go package reads HEIF headers: the box walk is the header reader, and the
		// decoder (libheif, in the engine) is never run here.
		return info, nil
	}
	cfg, err := decodeConfig(format, data)
	if err != nil {
		return Info{}, withPath(err, name)
	}
	if cfg.Width != w || cfg.Height != h {
		return Info{}, corrupt(name, fmt.Sprintf("header says %d × %d but the decoder reads %d × %d",
			w, h, cfg.Width, cfg.Height))
	}
	return info, nil
}

// withPath returns err with the file name filled in when it is an *Error
// that has none (Sniff and the structure checks do not know the name).
func withPath(err error, name string) error {
	var e *Error
	if errors.As(err, &e) && e.Path == "" {
		c := *e
		c.Path = name
		return &c
	}
	return err
}

// checkStructure runs the format's cheap structural walk, which also checks
// the dimensions against lim before anything else is trusted.
func checkStructure(format Format, data []byte, lim Limits) (w, h int, err error) {
	switch format {
	case PNG:
		return checkPNG(data, lim)
	case JPEG:
		return checkJPEG(data, lim)
	case BMP:
		return checkBMP(data, lim)
	case TIFF:
		return checkTIFF(data, lim)
	case WebP:
		return checkWebP(data, lim)
	case HEIF, AVIF:
		return checkHEIF(format, data, lim)
	}
	return 0, 0, refuse("", ErrUnsupportedFormat, "is not an image this app recognises %s", supportedList)
}

// checkDims refuses dimensions outside [1, cap] or a pixel count over the cap.
func checkDims(w, h int, lim Limits) error {
	switch {
	case w <= 0 || h <= 0:
		return refuse("", ErrDimensions, "claims %d × %d pixels, an image needs at least 1 × 1", w, h)
	case w > lim.MaxWidth || h > lim.MaxHeight:
		return refuse("", ErrDimensions, "claims %d × %d pixels, the limit is %d × %d",
			w, h, lim.MaxWidth, lim.MaxHeight)
	case int64(w)*int64(h) > lim.MaxPixels:
		return refuse("", ErrDimensions, "claims %d × %d pixels (%.1f megapixels), the limit is %.1f megapixels",
			w, h, float64(w)*float64(h)/1e6, float64(lim.MaxPixels)/1e6)
	}
	return nil
}

// decodeConfig reads the header with the format's own DecodeConfig. The
// decoders are third-party code running on hostile bytes in the main
// process, so a panic in one is turned into ErrCorrupt rather than taking
// the application down.
func decodeConfig(format Format, data []byte) (cfg image.Config, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = corrupt("", fmt.Sprintf("the %s header reader failed: %v", format.label(), r))
		}
	}()
	var r io.Reader = bytes.NewReader(data)
	switch format {
	case PNG:
		cfg, err = png.DecodeConfig(r)
	case JPEG:
		cfg, err = jpeg.DecodeConfig(r)
	case BMP:
		cfg, err = bmp.DecodeConfig(r)
	case TIFF:
		cfg, err = tiff.DecodeConfig(r)
	case WebP:
		cfg, err = webp.DecodeConfig(r)
	}
	if err != nil {
		return cfg, configError(format, err)
	}
	return cfg, nil
}

// configError sorts a DecodeConfig error into unsupported variants of a
// format we read (a compressed BMP, a 12-bit JPEG) and damaged files.
func configError(format Format, err error) error {
	var (
		jpegUnsupported jpeg.UnsupportedError
		pngUnsupported  png.UnsupportedError
		tiffUnsupported tiff.UnsupportedError
	)
	switch {
	case errors.Is(err, bmp.ErrUnsupported),
		errors.As(err, &jpegUnsupported),
		errors.As(err, &pngUnsupported),
		errors.As(err, &tiffUnsupported):
		return refuse("", ErrUnsupportedFormat, "is a kind of %s image this app cannot read (%s)",
			format.label(), strings.TrimSpace(err.Error()))
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return corrupt("", "it ends too soon")
	}
	return corrupt("", err.Error())
}
