//go:build !cgo || !linux

package infer

import (
	"errors"
	"image"
)

var errNoHEIF = errors.New("this build of Cutout reads HEIC and AVIF only on Linux, with cgo")

// LoadHEIF reports that this build has no HEIC and AVIF decoder.
func LoadHEIF() error { return errNoHEIF }

func decodeHEIF([]byte) (image.Image, error) { return nil, errNoHEIF }
