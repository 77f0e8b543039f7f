package models

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// maxModelBytes bounds what Verify reads: no real segmentation model is larger.
const maxModelBytes = 4 << 30

// Verify reads the model file whole and checks its size and checksum against the manifest.
// It returns the verified bytes: load exactly these, never the path again.
func Verify(e *Model) ([]byte, error) {
	data, size, err := readModel(e.Path, e.Size)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			hint := "run `make models`"
			if e.InstalledBy == "user" {
				hint = fmt.Sprintf("copy %s into %s", e.File, filepath.Dir(e.Path))
			}
			return nil, fmt.Errorf("model %s: %w: %s is missing (%s)", e.Name, ErrNotInstalled, e.Path, hint)
		}
		return nil, fmt.Errorf("model %s: %w", e.Name, err)
	}
	if size != e.Size {
		return nil, fmt.Errorf("model %s: %w: %s is %d bytes, the manifest says %d; refusing to load it",
			e.Name, ErrChecksum, e.Path, size, e.Size)
	}
	if e.SHA256 != "" {
		sum := sha256.Sum256(data)
		if got := hex.EncodeToString(sum[:]); got != e.SHA256 {
			return nil, fmt.Errorf("model %s: %w: %s has SHA-256 %s, the manifest says %s; refusing to load it",
				e.Name, ErrChecksum, e.Path, got, e.SHA256)
		}
		return data, nil
	}
	sum := md5.Sum(data)
	if got := hex.EncodeToString(sum[:]); got != e.MD5 {
		return nil, fmt.Errorf("model %s: %w: %s has MD5 %s, the manifest says %s; refusing to load it",
			e.Name, ErrChecksum, e.Path, got, e.MD5)
	}
	return data, nil
}

// ReadUnverified reads a user's own model file with no checksum to compare against; the
// caller must tell the user loudly that it did so.
func ReadUnverified(path string) ([]byte, error) {
	data, _, err := readModel(path, -1)
	return data, err
}

// readModel returns the file's bytes and size; when want ≥ 0 and the size differs, it
// returns the size alone without reading (the size already proves the file wrong).
func readModel(path string, want int64) ([]byte, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	if !fi.Mode().IsRegular() {
		return nil, 0, fmt.Errorf("%s is not a regular file", path)
	}
	if fi.Size() > maxModelBytes || (want >= 0 && fi.Size() != want) {
		return nil, fi.Size(), nil
	}
	// One buffer of the file's size (reading into a growing one copied it over and over and
	// left twice the model in memory), then a check that the file did not grow meanwhile.
	data := make([]byte, fi.Size())
	n, err := io.ReadFull(f, data)
	if err != nil {
		return nil, int64(n), err
	}
	var one [1]byte
	if m, _ := f.Read(one[:]); m > 0 {
		return nil, fi.Size() + 1, nil // changed while read: the size check refuses it
	}
	return data, int64(n), nil
}
