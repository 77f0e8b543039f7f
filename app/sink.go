package app

import (
	"compress/flate"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"cutout/app/fastpng"
	"cutout/internal/beneath"
)

// Sink writes finished images into a folder atomically: the bytes go to a hidden temporary
// file in the destination folder, are flushed to disk, and only then appear under their final
// name. An existing file is never replaced unless Overwrite is set, and never one of Protect;
// no link inside the folder is ever followed.
type Sink struct {
	// Overwrite replaces an earlier output of the same name instead of choosing a new name.
	Overwrite bool
	// Protect lists files that must never be replaced (the inputs).
	Protect []os.FileInfo
	// Compression is the PNG compression level.
	Compression png.CompressionLevel

	encoders sync.Pool
}

// encoderPool lets png.Encoder reuse its buffers between images.
type encoderPool struct{ p *sync.Pool }

func (e encoderPool) Get() *png.EncoderBuffer {
	b, _ := e.p.Get().(*png.EncoderBuffer)
	return b
}

func (e encoderPool) Put(b *png.EncoderBuffer) { e.p.Put(b) }

// EncodePNG encodes img as PNG into w: NRGBA and grey images with the parallel encoder,
// anything else with the standard one.
func (s *Sink) EncodePNG(w io.Writer, img image.Image) error {
	switch img.(type) {
	case *image.NRGBA, *image.Gray:
		return fastpng.Encode(w, img, s.level())
	}
	enc := png.Encoder{CompressionLevel: s.Compression, BufferPool: encoderPool{&s.encoders}}
	return enc.Encode(w, img)
}

// EncodePNGRows is EncodePNG for an RGBA image of width × height made row by row as it is
// encoded (see fastpng.EncodeRows).
func (s *Sink) EncodePNGRows(w io.Writer, width, height int, rows func(y int, scratch []byte) []byte) error {
	return fastpng.EncodeRows(w, width, height, false, s.level(), rows)
}

// WriteImage writes the file that encode makes to dir/rel with rel's extension replaced by
// ext (as Write does), streaming it into the temporary file: the whole file is never held in
// memory. replace lets it replace a regular file of that name (as Overwrite does). It
// reports how long encoding and writing took; a failure of encode itself (not of the file)
// comes back as an *EncodeError.
func (s *Sink) WriteImage(dir, rel, ext string, replace bool, encode func(io.Writer) error) (path string, enc, write time.Duration, err error) {
	start := time.Now()
	var tw timedWriter
	var encoded time.Time
	path, err = s.Write(dir, strings.TrimSuffix(rel, filepath.Ext(rel))+ext, replace, func(w io.Writer) error {
		tw.w = w
		err := encode(&tw)
		encoded = time.Now()
		if err != nil && tw.err == nil {
			return &EncodeError{err}
		}
		return err
	})
	if encoded.IsZero() { // the temporary file could not be made
		encoded = time.Now()
	}
	return path, encoded.Sub(start) - tw.spent, tw.spent + time.Since(encoded), err
}

// EncodeError is a PNG encoder's own failure, as opposed to one of the file it writes.
type EncodeError struct{ Err error }

func (e *EncodeError) Error() string { return e.Err.Error() }
func (e *EncodeError) Unwrap() error { return e.Err }

// timedWriter adds up the time its writes take and keeps the first write error.
type timedWriter struct {
	w     io.Writer
	spent time.Duration
	err   error
}

func (t *timedWriter) Write(p []byte) (int, error) {
	t0 := time.Now()
	n, err := t.w.Write(p)
	t.spent += time.Since(t0)
	if err != nil && t.err == nil {
		t.err = err
	}
	return n, err
}

// level is the deflate level for the sink's compression setting.
func (s *Sink) level() int {
	if s.Compression == png.DefaultCompression || s.Compression == png.BestCompression {
		return flate.DefaultCompression
	}
	return flate.BestSpeed
}

// Write runs write into a temporary file in dir and gives it the name rel (or, when that is
// taken and neither replace nor Overwrite is set, rel with " (1)", " (2)", … before the extension, shortened to
// fit the system's limit on names). rel's folders are made as needed. Nothing below dir is
// ever reached through a link: a link planted in the output folder, as a folder on the way or
// as the name itself, is never followed (see beneath.WriteFile), and only a regular file is
// ever replaced.
func (s *Sink) Write(dir, rel string, replace bool, write func(io.Writer) error) (path string, err error) {
	got, err := beneath.WriteFile(dir, rel, beneath.Options{Replace: replace || s.Overwrite, Keep: s.Protect}, write)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, got), nil
}
