package app

import (
	"bufio"
	"bytes"
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

// EncodePNG encodes img as PNG into buf (reset first): NRGBA and grey images with the
// parallel encoder, anything else with the standard one.
func (s *Sink) EncodePNG(buf *bytes.Buffer, img image.Image) error {
	buf.Reset()
	switch img.(type) {
	case *image.NRGBA, *image.Gray:
		return fastpng.Encode(buf, img, s.level())
	}
	enc := png.Encoder{CompressionLevel: s.Compression, BufferPool: encoderPool{&s.encoders}}
	return enc.Encode(buf, img)
}

// EncodePNGRows is EncodePNG for an RGBA image of width × height made row by row as it is
// encoded (see fastpng.EncodeRows).
func (s *Sink) EncodePNGRows(buf *bytes.Buffer, width, height int, rows func(y int, scratch []byte) []byte) error {
	buf.Reset()
	return fastpng.EncodeRows(buf, width, height, false, s.level(), rows)
}

// level is the deflate level for the sink's compression setting.
func (s *Sink) level() int {
	if s.Compression == png.DefaultCompression || s.Compression == png.BestCompression {
		return flate.DefaultCompression
	}
	return flate.BestSpeed
}

// WriteBytes writes data to dir/rel with rel's extension replaced by ext (".png").
func (s *Sink) WriteBytes(dir, rel, ext string, data []byte) (string, error) {
	return s.Write(dir, strings.TrimSuffix(rel, filepath.Ext(rel))+ext, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
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
