package app

import (
	"bufio"
	"compress/flate"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"cutout/app/fastpng"
)

// Sink writes finished images into a folder atomically: the bytes go to a hidden temporary
// file in the destination folder, are flushed to disk, and only then appear under their final
// name. An existing file is never replaced unless Overwrite is set, and never one of Protect.
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

// WritePNG writes the PNG that encode makes to dir/rel with rel's extension replaced by
// ".png" (as Write does), streaming it into the temporary file: the whole file is never held
// in memory. It reports how long encoding and writing took; a failure of encode itself (not
// of the file) comes back as an *EncodeError.
func (s *Sink) WritePNG(dir, rel string, encode func(io.Writer) error) (path string, enc, write time.Duration, err error) {
	start := time.Now()
	var tw timedWriter
	var encoded time.Time
	path, err = s.Write(dir, strings.TrimSuffix(rel, filepath.Ext(rel))+".png", func(w io.Writer) error {
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
// taken and Overwrite is off, rel with " (1)", " (2)", … before the extension).
func (s *Sink) Write(dir, rel string, write func(io.Writer) error) (path string, err error) {
	final := filepath.Join(dir, rel)
	folder := filepath.Dir(final)
	if err := os.MkdirAll(folder, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(folder, ".cutout-*.tmp")
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err := write(bw); err != nil {
		return "", err
	}
	if err := bw.Flush(); err != nil {
		return "", err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return "", err
	}
	if err := tmp.Sync(); err != nil {
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	path, err = s.publish(tmp.Name(), final)
	if err != nil {
		return "", err
	}
	syncDir(folder)
	return path, nil
}

// publish gives the temporary file its final name.
func (s *Sink) publish(tmp, final string) (string, error) {
	if s.Overwrite && !s.protected(final) {
		if fi, err := os.Lstat(final); err == nil && !fi.Mode().IsRegular() {
			return "", fmt.Errorf("%s exists and is not a regular file", final)
		}
		return final, os.Rename(tmp, final)
	}
	ext := filepath.Ext(final)
	stem := strings.TrimSuffix(final, ext)
	for i := 0; i < 10000; i++ {
		name := final
		if i > 0 {
			name = fmt.Sprintf("%s (%d)%s", stem, i, ext)
		}
		err := os.Link(tmp, name) // fails if name exists: never clobbers
		if err == nil {
			os.Remove(tmp)
			return name, nil
		}
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if !linkUnsupported(err) {
			return "", err
		}
		// Filesystems without hard links (FAT, some network shares): check, then rename.
		if _, err := os.Lstat(name); err == nil {
			continue
		}
		return name, os.Rename(tmp, name)
	}
	return "", fmt.Errorf("no free name for %s", final)
}

func (s *Sink) protected(path string) bool {
	fi, err := os.Stat(path)
	if err != nil {
		return false
	}
	for _, p := range s.Protect {
		if os.SameFile(fi, p) {
			return true
		}
	}
	return false
}

func linkUnsupported(err error) bool {
	return errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.ENOTSUP) ||
		errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.EXDEV)
}

// syncDir flushes a folder's entries so a rename survives a crash.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
