package validate

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// maxSeed keeps the huge corpus cases (the 6 MB bomb) out of the seeds.
const maxSeed = 64 << 10

// FuzzSniff checks that Sniff never panics and only ever answers with a
// supported format or one of its three sentinels.
func FuzzSniff(f *testing.F) {
	for _, c := range corpus() {
		if c.bytesOnly() {
			d := c.data()
			f.Add(d[:min(len(d), SniffLen)])
		}
	}
	f.Fuzz(func(t *testing.T, head []byte) {
		format, err := Sniff(head)
		if err == nil {
			switch format {
			case PNG, JPEG, BMP, TIFF, WebP:
			default:
				t.Fatalf("Sniff returned unknown format %q", format)
			}
			return
		}
		if format != "" {
			t.Fatalf("Sniff returned %q with error %v", format, err)
		}
		if !errors.Is(err, ErrEmpty) && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupportedFormat) {
			t.Fatalf("Sniff error %v has an unexpected sentinel", err)
		}
		if msg := err.Error(); !utf8.ValidString(msg) || !strings.HasPrefix(msg, "refused: the file ") {
			t.Fatalf("bad message %q", msg)
		}
	})
}

// FuzzBytes checks that Bytes never panics, that whatever it accepts is
// within the caps, and that every refusal is a well-formed *Error.
func FuzzBytes(f *testing.F) {
	for _, c := range corpus() {
		if c.bytesOnly() && len(c.data()) <= maxSeed {
			f.Add(c.file, c.data())
		}
	}
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		checkBytes(t, name, data)
		// The fuzzer mutates names too, and most mutated names stop at the
		// extension check; a name without an extension lets the same
		// content reach the format checks.
		checkBytes(t, "fuzz", data)
	})
}

// checkBytes runs Bytes once and checks its invariants.
func checkBytes(t *testing.T, name string, data []byte) {
	t.Helper()
	info, err := Bytes(name, data, Limits{})
	if err != nil {
		checkFuzzError(t, name, err)
		if _, serr := Sniff(data); errors.Is(serr, ErrUnsupportedFormat) && !errors.Is(err, ErrUnsupportedFormat) {
			t.Fatalf("Sniff says %v but Bytes says %v", serr, err)
		}
		return
	}
	lim := DefaultLimits()
	if info.Width < 1 || info.Height < 1 || info.Width > lim.MaxWidth || info.Height > lim.MaxHeight ||
		int64(info.Width)*int64(info.Height) > lim.MaxPixels {
		t.Fatalf("accepted %d × %d, outside the caps", info.Width, info.Height)
	}
	if format, _ := Sniff(data); info.Format != format {
		t.Fatalf("Info.Format = %q, Sniff says %q", info.Format, format)
	}
	if info.Size != int64(len(data)) || info.Path != name {
		t.Fatalf("Info = %+v for %d bytes named %q", info, len(data), name)
	}
}

// checkFuzzError is checkError without testing.T's subtest plumbing.
func checkFuzzError(t *testing.T, name string, err error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Path != name {
		t.Fatalf("error %v (%T) is not an *Error for %q", err, err, name)
	}
	n := 0
	for _, s := range sentinels {
		if errors.Is(err, s) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("error %q matches %d sentinels", err, n)
	}
	msg := err.Error()
	if !utf8.ValidString(msg) || !strings.HasPrefix(msg, "refused: "+displayName(name)+" ") {
		t.Fatalf("bad message %q", msg)
	}
}
