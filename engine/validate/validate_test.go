package validate

import (
	"bytes"
	"compress/zlib"
	"errors"
	"flag"
	"image/png"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/image/tiff"
)

var corpusDir = flag.String("corpus-dir", "", "also write the byte cases of the corpus to this folder (e.g. testdata/bad)")

// sentinels lists every sentinel error; each refusal must match exactly one.
var sentinels = []error{
	ErrTooLarge, ErrUnsupportedFormat, ErrExtensionMismatch, ErrDimensions, ErrNotRegularFile,
	ErrSymlinkEscape, ErrCorrupt, ErrEmpty, ErrNotFound, ErrPermission, ErrTooComplex,
}

// TestCorpus runs every case through File and, for plain content, Bytes.
func TestCorpus(t *testing.T) {
	for _, c := range corpus() {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path, roots := filepath.Join(dir, c.file), []string(nil)
			if c.setup != nil {
				path, roots = c.setup(t, dir)
			} else {
				writeFile(t, path, c.data())
			}
			if *corpusDir != "" && c.bytesOnly() {
				dumpCase(t, *corpusDir, c)
			}

			start := time.Now()
			info, data, err := File(path, c.lim, roots...)
			if d := time.Since(start); d > time.Second {
				t.Errorf("File took %v, want under a second", d)
			}
			t.Logf("File: %+v, %v", info, err)
			checkVerdict(t, c, path, info, err)
			if err == nil {
				if want, _ := os.ReadFile(path); !bytes.Equal(data, want) {
					t.Errorf("File returned %d bytes, the file has %d", len(data), len(want))
				}
			} else if data != nil {
				t.Errorf("File returned %d bytes with an error", len(data))
			}

			if c.bytesOnly() {
				info, err := Bytes(c.file, c.data(), c.lim)
				checkVerdict(t, c, c.file, info, err)
			}
		})
	}
}

// dumpCase writes a byte case to dir for inspection with other tools,
// named after the case with the extension of its file name.
func dumpCase(t *testing.T, dir string, c corpusCase) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	slug := strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' {
			return r
		}
		return '_'
	}, c.name)
	ext := filepath.Ext(c.file)
	if !utf8.ValidString(ext) || strings.ContainsAny(ext, "\n\x1b") {
		ext = ".bin"
	}
	writeFile(t, filepath.Join(dir, slug+ext), c.data())
}

// checkVerdict compares one result with the case's expectation.
func checkVerdict(t *testing.T, c corpusCase, path string, info Info, err error) {
	t.Helper()
	if c.want == nil {
		if err != nil {
			t.Fatalf("refused a valid file: %v", err)
		}
		want := c.info
		want.Path = path
		want.Size = info.Size
		if info != want {
			t.Errorf("Info = %+v, want %+v", info, want)
		}
		if info.Size <= 0 {
			t.Errorf("Info.Size = %d", info.Size)
		}
		return
	}
	if err == nil {
		t.Fatalf("accepted (%+v), want %v", info, c.want)
	}
	if !errors.Is(err, c.want) {
		t.Fatalf("error %q is not %v", err, c.want)
	}
	checkError(t, err, path)
	if c.says != "" && !strings.Contains(err.Error(), c.says) {
		t.Errorf("message %q does not say %q", err, c.says)
	}
}

// checkError checks what every refusal must satisfy: an *Error with the
// path, exactly one sentinel, and a readable message that names the file.
func checkError(t *testing.T, err error, path string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %q is a %T, not an *Error", err, err)
	}
	if e.Path != path {
		t.Errorf("Error.Path = %q, want %q", e.Path, path)
	}
	n := 0
	for _, s := range sentinels {
		if errors.Is(err, s) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("error %q matches %d sentinels, want 1", err, n)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "refused: "+displayName(path)+" ") {
		t.Errorf("message %q does not start by naming %q", msg, displayName(path))
	}
	if !utf8.ValidString(msg) || strings.ContainsAny(msg, "\n\r\x1b") {
		t.Errorf("message %q is not a clean line of text", msg)
	}
}

func TestErrorMessages(t *testing.T) {
	for _, c := range []struct {
		err  *Error
		want string
	}{
		{tooLarge("/x/big.jpg", 80<<20, 64<<20), `refused: "big.jpg" is 80.0 MiB, the limit is 64 MiB`},
		{refuse("photo.png", ErrDimensions, "claims %d × %d pixels, the limit is %d × %d", 100000, 100000, 16384, 16384),
			`refused: "photo.png" claims 100000 × 100000 pixels, the limit is 16384 × 16384`},
		{corrupt("", ""), "refused: the file is damaged or incomplete"},
		{refuse("dir/\u202egnp.exe", ErrEmpty, "is empty"), `refused: "\u202egnp.exe" is empty`},
	} {
		if got := c.err.Error(); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
}

func TestSniff(t *testing.T) {
	for _, c := range []struct {
		head string
		want Format
		err  error
	}{
		{"\x89PNG\r\n\x1a\n", PNG, nil},
		{"\xff\xd8\xff\xe0", JPEG, nil},
		{"II*\x00\x08\x00\x00\x00", TIFF, nil},
		{"MM\x00*\x00\x00\x00\x08", TIFF, nil},
		{"RIFF\x00\x00\x00\x00WEBPVP8L", WebP, nil},
		{"BM\x00\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00\x28\x00\x00\x00", BMP, nil},
		{"BMW is a car, not a bitmap", "", ErrUnsupportedFormat},
		{"", "", ErrEmpty},
		{"\x89PN", "", ErrCorrupt},
		{"RIFF\x10\x00", "", ErrCorrupt},
		{"RIFF\x10\x00\x00\x00WAVEfmt ", "", ErrUnsupportedFormat},
		{"II+\x00", "", ErrUnsupportedFormat},
		{"\xef\xbb\xbf  <svg xmlns='http://www.w3.org/2000/svg'/>", "", ErrUnsupportedFormat},
		{"\x00\x00\x00\x1cftypavif", AVIF, nil},
		{"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", HEIF, nil},
		{"\x00\x00\x00\x1cftypmif1\x00\x00\x00\x00mif1miafavif", AVIF, nil},
		{"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1miaf", HEIF, nil},
		{"\x00\x00\x00\x18ftypmsf1\x00\x00\x00\x00msf1hevc", HEIF, nil},
		{"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00isommp42", "", ErrUnsupportedFormat},
		{"\x00\x00\x00\x18ftypcrx \x00\x00\x00\x01crx isom", "", ErrUnsupportedFormat},
		{"\x00\x00\x00\x18ftyp", "", ErrCorrupt},
	} {
		got, err := Sniff([]byte(c.head))
		if got != c.want || !errors.Is(err, c.err) || (err == nil) != (c.err == nil) {
			t.Errorf("Sniff(%q) = %q, %v; want %q, %v", c.head, got, err, c.want, c.err)
		}
	}
}

func TestExtensions(t *testing.T) {
	exts := Extensions()
	if len(exts) != 14 || exts[0] != ".avif" {
		t.Errorf("Extensions() = %v", exts)
	}
}

func TestLimitsDefaults(t *testing.T) {
	if got := (Limits{}).Resolved(); got != DefaultLimits() {
		t.Errorf("zero Limits resolve to %+v", got)
	}
	got := (Limits{MaxWidth: 10, MaxPixels: -1}).Resolved()
	if got.MaxWidth != 10 || got.MaxPixels != DefaultMaxPixels || got.MaxBytes != DefaultMaxBytes {
		t.Errorf("partial Limits resolve to %+v", got)
	}
}

// TestOpenErrors covers the mapping of system errors that the corpus cannot
// produce here (the tests may run as root, for whom nothing is forbidden).
func TestOpenErrors(t *testing.T) {
	for _, c := range []struct {
		err  error
		want error
	}{
		{&fs.PathError{Op: "open", Path: "p", Err: syscall.EACCES}, ErrPermission},
		{&fs.PathError{Op: "open", Path: "p", Err: syscall.EPERM}, ErrPermission},
		{&fs.PathError{Op: "open", Path: "p", Err: syscall.ENOENT}, ErrNotFound},
		{&fs.PathError{Op: "open", Path: "p", Err: syscall.ELOOP}, ErrSymlinkEscape},
		{&fs.PathError{Op: "open", Path: "p", Err: syscall.ENAMETOOLONG}, ErrNotFound},
		{&fs.PathError{Op: "open", Path: "p", Err: syscall.EIO}, ErrNotFound},
	} {
		err := openError("dir/p.png", c.err)
		if !errors.Is(err, c.want) {
			t.Errorf("openError(%v) = %v, want %v", c.err, err, c.want)
		}
		checkError(t, err, "dir/p.png")
	}
}

func TestPermissionDenied(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root may read anything")
	}
	p := filepath.Join(t.TempDir(), "secret.png")
	writeFile(t, p, validPNG())
	if err := os.Chmod(p, 0); err != nil {
		t.Fatal(err)
	}
	_, _, err := File(p, Limits{})
	if !errors.Is(err, ErrPermission) {
		t.Fatalf("File on an unreadable file: %v", err)
	}
}

// TestReadCapped checks the read cap: the descriptor's size said
// small, but the reader delivers more than the cap.
func TestReadCapped(t *testing.T) {
	data, err := readCapped(io.LimitReader(zeroReader{}, 1<<20), 10, 1000)
	if err != nil || len(data) != 1001 {
		t.Fatalf("readCapped read %d bytes, %v; want 1001", len(data), err)
	}
	data, err = readCapped(bytes.NewReader(make([]byte, 5000)), 5000, 1<<20)
	if err != nil || len(data) != 5000 || cap(data) != 5001 {
		t.Fatalf("readCapped read %d bytes into cap %d, %v", len(data), cap(data), err)
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestZlibZeros checks the hand-made bomb stream on a small size.
func TestZlibZeros(t *testing.T) {
	for _, n := range []int{0, 1, 258, 259, 1000, 100_000} {
		r, err := zlib.NewReader(bytes.NewReader(zlibZeros(n)))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		if err != nil || len(got) != n || bytes.Count(got, []byte{0}) != n {
			t.Fatalf("zlibZeros(%d) inflates to %d bytes, %v", n, len(got), err)
		}
	}
	if n := len(bombIDAT()); n > 8<<20 {
		t.Errorf("1 GiB bomb takes %d bytes on disk", n)
	}
}

// TestHonestBombDecodesBounded backs the reasoning in checkPNG: a PNG whose
// header is honest and small but whose IDAT inflates to 1 GiB is accepted by
// validation, and the real decoder (run here, in a test, never by the
// package) stops after the pixels the header allows.
func TestHonestBombDecodesBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes a megapixel")
	}
	data := pngWith(1000, 1000, 0, bombIDAT())
	if _, err := Bytes("honest.png", data, Limits{}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := png.Decode(bytes.NewReader(data))
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("decoding took %v", d)
	}
	if err == nil || !strings.Contains(err.Error(), "too much pixel data") {
		t.Errorf("png.Decode: %v, want too much pixel data", err)
	}
}

// TestTIFFBuilder checks that the hand-built TIFF used by hostile cases is
// a real TIFF when its numbers are honest.
func TestTIFFBuilder(t *testing.T) {
	m, err := tiff.Decode(bytes.NewReader(tiffGray(2, 2, 2, 1, []byte{1, 2, 3, 4})))
	if err != nil || m.Bounds().Dx() != 2 {
		t.Fatalf("tiff.Decode: %v", err)
	}
}
