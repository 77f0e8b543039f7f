package validate

import (
	"errors"
	"fmt"
	"path/filepath"

	"cutout/internal/quote"
)

// Sentinel errors: every refusal unwraps to exactly one of them.
var (
	// ErrTooLarge means the file is bigger than Limits.MaxBytes.
	ErrTooLarge = errors.New("file too large")
	// ErrUnsupportedFormat means the content is not PNG, JPEG, BMP, TIFF, WebP, HEIC or AVIF.
	ErrUnsupportedFormat = errors.New("unsupported format")
	// ErrExtensionMismatch means the file name's extension disagrees with the content.
	ErrExtensionMismatch = errors.New("extension does not match content")
	// ErrDimensions means the header claims a width, height or pixel count over the caps.
	ErrDimensions = errors.New("image dimensions over the limit")
	// ErrNotRegularFile means the path is a directory, device, FIFO or socket.
	ErrNotRegularFile = errors.New("not a regular file")
	// ErrSymlinkEscape means a symbolic link was met where none is followed: inside a
	// folder the user named, or swapped in while the file was being opened.
	ErrSymlinkEscape = errors.New("symbolic link not followed")
	// ErrCorrupt means the file is damaged or incomplete.
	ErrCorrupt = errors.New("file damaged or incomplete")
	// ErrEmpty means the file has no bytes.
	ErrEmpty = errors.New("file is empty")
	// ErrNotFound means there is no file at the path.
	ErrNotFound = errors.New("file not found")
	// ErrPermission means the file exists but may not be read.
	ErrPermission = errors.New("permission denied")
)

// Error is a refusal: which file, why in words, and which sentinel.
type Error struct {
	Path   string // the path or name as given by the caller
	Reason string // the predicate that follows the file name, e.g. "is empty"
	Err    error  // one of the sentinel errors above
}

// Error reads as a sentence that names the file, quoted, e.g.
// `refused: "photo.png" claims 100000 × 100000 pixels, the limit is 16384 × 16384`.
func (e *Error) Error() string {
	return "refused: " + displayName(e.Path) + " " + e.Reason
}

// Unwrap returns the sentinel error, for errors.Is.
func (e *Error) Unwrap() error { return e.Err }

// refuse builds an *Error.
func refuse(path string, sentinel error, format string, args ...any) *Error {
	return &Error{Path: path, Reason: fmt.Sprintf(format, args...), Err: sentinel}
}

// displayName is the base name of path, quoted (quote.Name) so that it is
// safe to show: a name with control characters, invalid UTF-8 or bidi
// overrides could otherwise spoof a log line or a label, or send escapes to
// a terminal.
func displayName(path string) string {
	if path == "" {
		return "the file"
	}
	return quote.Name(filepath.Base(path))
}

// formatBytes prints a size the way the limit messages use it: whole MiB
// without decimals ("64 MiB"), otherwise one decimal ("80.0 MiB").
func formatBytes(n int64) string {
	const kib, mib, gib = 1 << 10, 1 << 20, 1 << 30
	switch {
	case n >= gib && n%gib == 0:
		return fmt.Sprintf("%d GiB", n/gib)
	case n >= gib:
		return fmt.Sprintf("%.1f GiB", float64(n)/gib)
	case n >= mib && n%mib == 0:
		return fmt.Sprintf("%d MiB", n/mib)
	case n >= mib:
		return fmt.Sprintf("%.1f MiB", float64(n)/mib)
	case n >= kib:
		return fmt.Sprintf("%.1f KiB", float64(n)/kib)
	case n == 1:
		return "1 byte"
	}
	return fmt.Sprintf("%d bytes", n)
}

// tooLarge reports a file of size bytes over the cap.
func tooLarge(path string, size, limit int64) *Error {
	if size > limit {
		// Show one decimal even for whole sizes so "is 80.0 MiB" reads
		// consistently next to the limit.
		return refuse(path, ErrTooLarge, "is %s, the limit is %s", formatSize(size), formatBytes(limit))
	}
	return refuse(path, ErrTooLarge, "is larger than the limit of %s", formatBytes(limit))
}

// formatSize prints an actual file size with one decimal in MiB or GiB.
func formatSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return formatBytes(n)
}

// corrupt reports a damaged or incomplete file; detail says what was wrong
// in technical terms and may be empty.
func corrupt(path, detail string) *Error {
	if detail == "" {
		return refuse(path, ErrCorrupt, "is damaged or incomplete")
	}
	return refuse(path, ErrCorrupt, "is damaged or incomplete (%s)", detail)
}
