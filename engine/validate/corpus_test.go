package validate

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"testing"
)

// corpusCase is one input and its expected verdict. The same table drives
// TestCorpus (through File and, for byte cases, Bytes) and seeds the fuzz
// targets.
type corpusCase struct {
	name string // subtest name
	file string // file name to write (and to pass to Bytes)
	// data is the content; nil for special files that setup makes.
	data func() []byte
	// setup makes special files (links, FIFOs, folders) in dir and returns
	// the path to check and the roots to allow. nil: write data to dir/file.
	setup func(tb testing.TB, dir string) (path string, roots []string)
	lim   Limits
	want  error  // nil: accepted
	info  Info   // when accepted: Format, Width, Height to expect
	says  string // when refused: a phrase the message must contain
}

// bytesOnly reports whether the case is plain content that Bytes and the
// fuzzers can take.
func (c corpusCase) bytesOnly() bool { return c.setup == nil && c.data != nil }

func constant(b []byte) func() []byte { return func() []byte { return b } }

const htmlPage = "<!DOCTYPE html>\n<html><head><title>hi</title></head><body>not a picture</body></html>\n"
const svgDrawing = `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>
`

// corpus lists every case. Valid files first, then refusals by kind; the HEIC and AVIF
// cases (heif_corpus_test.go) last.
func corpus() []corpusCase {
	return append([]corpusCase{
		// Valid files of every format.
		{name: "valid png", file: "ok.png", data: validPNG, info: Info{Format: PNG, Width: 32, Height: 24}},
		{name: "valid jpeg", file: "ok.jpg", data: validJPEG, info: Info{Format: JPEG, Width: 32, Height: 24}},
		{name: "valid jpeg upper-case .JPEG", file: "OK.JPEG", data: validJPEG, info: Info{Format: JPEG, Width: 32, Height: 24}},
		{name: "valid jpeg .jfif", file: "ok.jfif", data: validJPEG, info: Info{Format: JPEG, Width: 32, Height: 24}},
		{name: "valid bmp", file: "ok.bmp", data: validBMP, info: Info{Format: BMP, Width: 20, Height: 10}},
		{name: "valid tiff", file: "ok.tiff", data: validTIFF, info: Info{Format: TIFF, Width: 16, Height: 12}},
		{name: "valid tiff hand-built", file: "gray.tif", data: constant(tiffGray(2, 2, 2, 1, []byte{1, 2, 3, 4})),
			info: Info{Format: TIFF, Width: 2, Height: 2}},
		{name: "valid webp lossless", file: "ok.webp", data: webpLossless, info: Info{Format: WebP, Width: 75, Height: 100}},
		{name: "valid webp lossy", file: "lossy.webp", data: webpLossy, info: Info{Format: WebP, Width: 150, Height: 100}},
		{name: "valid webp extended", file: "ext.webp", data: func() []byte {
			return riff(vp8x(0, 75, 100), webpFrameChunk(webpLossless()))
		}, info: Info{Format: WebP, Width: 75, Height: 100}},
		{name: "no extension accepted by content", file: "scan0001", data: validPNG, info: Info{Format: PNG, Width: 32, Height: 24}},
		{name: "spaces in name", file: "my holiday photo.png", data: validPNG, info: Info{Format: PNG, Width: 32, Height: 24}},
		{name: "png with zero padding after IEND", file: "padded.png", data: func() []byte {
			return cat(validPNG(), make([]byte, 100))
		}, info: Info{Format: PNG, Width: 32, Height: 24}},
		{name: "jpeg with zip after EOI accepted (motion-photo rule)", file: "motion.jpg", data: func() []byte {
			return cat(validJPEG(), smallZIP())
		}, info: Info{Format: JPEG, Width: 32, Height: 24}},
		{name: "honest header, IDAT inflates to 1 GiB", file: "honest-bomb.png", data: func() []byte {
			return pngWith(1000, 1000, 0, bombIDAT())
		}, info: Info{Format: PNG, Width: 1000, Height: 1000}},
		{name: "symlink named directly is followed", file: "link-named.png", setup: func(tb testing.TB, dir string) (string, []string) {
			other := tb.TempDir()
			writeFile(tb, filepath.Join(other, "real.png"), validPNG())
			return symlink(tb, filepath.Join(other, "real.png"), filepath.Join(dir, "link-named.png")), []string{tb.TempDir()}
		}, info: Info{Format: PNG, Width: 32, Height: 24}},
		{name: "symlink to png, no roots", file: "link-any.png", setup: func(tb testing.TB, dir string) (string, []string) {
			other := tb.TempDir()
			writeFile(tb, filepath.Join(other, "real.png"), validPNG())
			return symlink(tb, filepath.Join(other, "real.png"), filepath.Join(dir, "link-any.png")), nil
		}, info: Info{Format: PNG, Width: 32, Height: 24}},

		// Empty, tiny, truncated.
		{name: "empty file", file: "empty.png", data: constant(nil), want: ErrEmpty, says: "is empty"},
		{name: "one byte", file: "one.png", data: constant([]byte{0x89}), want: ErrCorrupt, says: "damaged or incomplete"},
		{name: "one byte of text", file: "one-a.png", data: constant([]byte("a")), want: ErrUnsupportedFormat, says: "a text file"},
		{name: "png signature only", file: "sig.png", data: func() []byte { return cut(validPNG(), 8) }, want: ErrCorrupt},
		{name: "truncated png", file: "cut.png", data: func() []byte { return cut(validPNG(), len(validPNG())/2) }, want: ErrCorrupt},
		{name: "png without IEND", file: "noend.png", data: func() []byte { return cut(validPNG(), -12) }, want: ErrCorrupt},
		{name: "png with bad CRC", file: "crc.png", data: func() []byte {
			b := bytes.Clone(validPNG())
			b[len(b)-13] ^= 0xff // the last byte of the IDAT CRC
			return b
		}, want: ErrCorrupt, says: "checksum"},
		{name: "truncated jpeg", file: "cut.jpg", data: func() []byte { return cut(validJPEG(), len(validJPEG())/2) }, want: ErrCorrupt},
		{name: "jpeg header only", file: "head.jpg", data: func() []byte {
			j := validJPEG()
			return cut(j, bytes.Index(j, []byte{0xff, 0xda}))
		}, want: ErrCorrupt},
		{name: "truncated tiff", file: "cut.tif", data: func() []byte { return cut(validTIFF(), len(validTIFF())/2) }, want: ErrCorrupt},
		{name: "truncated webp", file: "cut.webp", data: func() []byte { return cut(webpLossless(), len(webpLossless())/2) }, want: ErrCorrupt},
		{name: "truncated bmp", file: "cut.bmp", data: func() []byte { return cut(validBMP(), len(validBMP())/2) }, want: ErrCorrupt},

		// Dimension and pixel caps, from headers only.
		{name: "png IHDR claims 100000 x 100000", file: "huge.png", data: func() []byte {
			return pngWith(100000, 100000, 6, []byte{0x78, 0x01, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
		}, want: ErrDimensions, says: "claims 100000 × 100000 pixels, the limit is 16384 × 16384"},
		{name: "png zip bomb, IDAT inflates to 1 GiB", file: "bomb.png", data: pngZeroBomb, want: ErrDimensions, says: "32767 × 32768"},
		{name: "png over the pixel cap", file: "wide.png", data: func() []byte {
			return pngWith(12000, 12000, 0, []byte{0x78, 0x01, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
		}, want: ErrDimensions, says: "megapixels"},
		{name: "png IHDR claims 0 x 10", file: "zero.png", data: func() []byte { return pngWith(0, 10, 0, nil) }, want: ErrDimensions},
		{name: "png with caller's smaller caps", file: "ok-but-capped.png", data: validPNG,
			lim: Limits{MaxWidth: 16}, want: ErrDimensions, says: "the limit is 16 × 16384"},
		{name: "jpeg SOF claims 65000 x 65000", file: "huge.jpg", data: func() []byte { return jpegPatchSOF(validJPEG(), 65000, 65000) },
			want: ErrDimensions, says: "65000 × 65000"},
		{name: "jpeg with 501 scans", file: "scans.jpg", data: func() []byte {
			return buildJPEG(jpegSpec{w: 32, h: 24, sampling: grey, progressive: true, scans: repeatScan(nil, acRefine, 501)})
		}, want: ErrTooComplex, says: "more than 500 scans"},
		{name: "baseline jpeg with its scan repeated", file: "rescan.jpg", data: func() []byte { return jpegManyScans(validJPEG(), 1) },
			want: ErrCorrupt, says: "codes a component in more than one scan"},
		{name: "jpeg progressive bomb: DC scan and 498 empty refinements over 100 MP", file: "bomb-progressive.jpg",
			data: progressiveBomb, want: ErrTooComplex, says: "its 499 scans ask for 22.4 times the decoding work"},
		{name: "jpeg progressive bomb: 499 empty refinements, 59 KB", file: "bomb-refine.jpg",
			data: refineBomb, want: ErrTooComplex, says: "would take too long to decode"},
		{name: "jpeg baseline bomb: 171 full scans over 100 MP, 67 MB", file: "bomb-baseline.jpg", data: baselineBomb,
			want: ErrCorrupt, says: "codes a component in more than one scan"},
		{name: "jpeg progressive bomb under a 1 MP cap: 19 refinements", file: "bomb-small.jpg", data: func() []byte {
			return buildJPEG(jpegSpec{w: 1000, h: 1000, sampling: grey, progressive: true, scans: repeatScan(nil, acRefine, 19)})
		}, lim: Limits{MaxPixels: 1_000_000}, want: ErrTooComplex, says: "the 1-megapixel limit"},
		{name: "jpeg progressive (cjpeg, 10 scans)", file: "progressive.jpg", data: func() []byte {
			return readTestdata("chelsea-progressive-420.jpg")
		}, info: Info{Format: JPEG, Width: 120, Height: 79}},
		{name: "jpeg progressive at the pixel cap (cjpeg's script, 4:4:4)", file: "progressive-100mp.jpg",
			data: progressiveAtCap, info: Info{Format: JPEG, Width: 10000, Height: 10000}},
		{name: "tiff claims 100000 x 100000", file: "huge.tif", data: constant(tiffGray(100000, 100000, 100000, 1, []byte{0})),
			want: ErrDimensions},
		{name: "tiff claims a billion strips", file: "strips.tif", data: constant(tiffGray(4, 4, 1, 1<<30, []byte{0})),
			want: ErrCorrupt, says: "outside the file"},
		{name: "tiff with too few strips for its rows", file: "fewstrips.tif", data: constant(tiffGray(1000, 1000, 1, 1, []byte{0})),
			want: ErrCorrupt, says: "do not match"},
		{name: "tiff claims 4 GiB of pixels in 1 strip", file: "bigstrip.tif", data: func() []byte {
			b := tiffGray(2, 2, 2, 1, []byte{1, 2, 3, 4})
			i := 8 + 2 + 12*8 + 8 // value of field 279, StripByteCounts
			b[i], b[i+1], b[i+2], b[i+3] = 0xff, 0xff, 0xff, 0xff
			return b
		}, want: ErrCorrupt, says: "outside the file"},
		{name: "tiff cut into 1.56 million 8 x 8 tiles", file: "tiles.tif", data: tinyTileBomb,
			want: ErrTooComplex, says: "1562500 tiles"},
		{name: "tiff with 4 x 4 tiles", file: "tiny-tiles.tif", data: func() []byte {
			return tiffBlocks(64, 64, 4, 4, 1, make([]byte, 16))
		}, want: ErrCorrupt, says: "smaller than the 8 × 8"},
		{name: "valid tiff in 16 x 16 deflate tiles", file: "tiled.tif", data: func() []byte {
			return tiffBlocks(64, 48, 16, 16, 8, deflated(make([]byte, 256)))
		}, info: Info{Format: TIFF, Width: 64, Height: 48}},
		{name: "bmp pixel naming a colour its palette lacks", file: "palette.bmp", data: func() []byte {
			return bmpIndexed(7, 3, 8, 2, 0, func(x, y int) int {
				if x == 6 && y == 1 {
					return 5
				}
				return x % 2
			})
		}, want: ErrCorrupt, says: "a pixel uses colour 5 of a 2-colour palette"},
		{name: "valid bmp 4-bit with a 3-colour palette", file: "ok4.bmp", data: func() []byte {
			return bmpIndexed(7, 3, 4, 3, 0, func(x, y int) int { return (x + y) % 3 })
		}, info: Info{Format: BMP, Width: 7, Height: 3}},
		{name: "bmp claims 2^31-1 square", file: "huge.bmp", data: func() []byte { return bmpPatchSize(validBMP(), 1<<31-1, 1<<31-1) },
			want: ErrDimensions},
		{name: "bmp claims 100000 x -100000 (top-down)", file: "huge2.bmp", data: func() []byte { return bmpPatchSize(validBMP(), 100000, -100000) },
			want: ErrDimensions, says: "100000 × 100000"},
		{name: "webp canvas 16000 x 16000", file: "huge.webp", data: func() []byte {
			return riff(vp8x(0, 16000, 16000), webpFrameChunk(webpLossless()))
		}, want: ErrDimensions, says: "megapixels"},
		{name: "webp canvas and frame differ", file: "liar.webp", data: func() []byte {
			return riff(vp8x(0, 100, 100), webpFrameChunk(webpLossless()))
		}, want: ErrCorrupt},
		{name: "animated webp", file: "anim.webp", data: func() []byte {
			return riff(vp8x(0x02, 75, 100), riffChunk("ANIM", make([]byte, 6)))
		}, want: ErrUnsupportedFormat, says: "animated"},

		// Not images, whatever the name says.
		{name: "zip named .png", file: "archive.png", data: smallZIP, want: ErrUnsupportedFormat, says: "is a ZIP archive, not an image"},
		{name: "html named .png", file: "notes.png", data: constant([]byte(htmlPage)), want: ErrUnsupportedFormat,
			says: "is an HTML page, not an image (supported: PNG, JPEG, BMP, TIFF, WebP, HEIC, AVIF)"},
		{name: "svg named .png", file: "drawing.png", data: constant([]byte(svgDrawing)), want: ErrUnsupportedFormat, says: "an SVG drawing"},
		{name: "gif", file: "anim.gif", data: constant([]byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;")), want: ErrUnsupportedFormat,
			says: "a GIF image, which this app cannot read"},
		{name: "pdf named .jpg", file: "doc.jpg", data: constant([]byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")), want: ErrUnsupportedFormat, says: "a PDF document"},
		{name: "elf named .png", file: "run.png", data: constant([]byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00")),
			want: ErrUnsupportedFormat, says: "an executable"},
		{name: "pe named .bmp", file: "setup.bmp", data: constant([]byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00\xb8\x00")),
			want: ErrUnsupportedFormat, says: "an executable"},
		{name: "mp4 video named .jpg", file: "clip.jpg", data: constant([]byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00isommp42")),
			want: ErrUnsupportedFormat, says: "a video"},
		{name: "unknown binary", file: "blob.png", data: constant([]byte{0, 1, 2, 3, 4, 5, 6, 7, 0xfe, 0xfd, 0xfc, 0xfb}),
			want: ErrUnsupportedFormat, says: "not an image this app recognises"},

		// Polyglots and disguises.
		{name: "gif start named .jpg", file: "polyglot.jpg", data: func() []byte {
			return cat([]byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"), validJPEG())
		}, want: ErrUnsupportedFormat, says: "a GIF image"},
		{name: "zip start with jpeg inside, named .jpg", file: "zipfirst.jpg", data: func() []byte {
			return cat(smallZIP(), validJPEG())
		}, want: ErrUnsupportedFormat, says: "a ZIP archive"},
		{name: "png with zip appended", file: "hidden.png", data: func() []byte { return cat(validPNG(), smallZIP()) },
			want: ErrUnsupportedFormat, says: "with a ZIP archive appended"},
		{name: "webp with zip appended", file: "hidden.webp", data: func() []byte { return cat(webpLossless(), smallZIP()) },
			want: ErrUnsupportedFormat, says: "with a ZIP archive appended"},
		{name: "jpeg named .png", file: "holiday.png", data: validJPEG, want: ErrExtensionMismatch,
			says: "is a JPEG image but its name says PNG"},
		{name: "png named .webp", file: "x.webp", data: validPNG, want: ErrExtensionMismatch},
		{name: "png named .txt", file: "readme.txt", data: validPNG, want: ErrExtensionMismatch, says: "not an image extension"},

		// Names: traversal, invalid UTF-8, control characters.
		{name: "name with invalid UTF-8", file: "bad\xffname.png", data: constant([]byte(htmlPage)), want: ErrUnsupportedFormat,
			says: `"bad\xffname.png"`},
		{name: "name with newline and ANSI escape", file: "a\nb\x1b[31m.png", data: constant([]byte(htmlPage)),
			want: ErrUnsupportedFormat, says: `"a\nb\x1b[31m.png"`},
		{name: "path with ../", file: "evil.png", setup: func(tb testing.TB, dir string) (string, []string) {
			mkdir(tb, filepath.Join(dir, "sub"))
			writeFile(tb, filepath.Join(dir, "evil.png"), []byte(htmlPage))
			return filepath.Join(dir, "sub", "..", "evil.png"), nil
		}, want: ErrUnsupportedFormat, says: `"evil.png" is an HTML page`},

		// Special files and links.
		{name: "symlink to /etc/passwd in a named folder", file: "passwd.png", setup: func(tb testing.TB, dir string) (string, []string) {
			return symlink(tb, "/etc/passwd", filepath.Join(dir, "passwd.png")), []string{dir}
		}, want: ErrSymlinkEscape, says: "links inside the folders you named are not followed"},
		{name: "symlink to png inside its named folder", file: "link-in.png", setup: func(tb testing.TB, dir string) (string, []string) {
			writeFile(tb, filepath.Join(dir, "real.png"), validPNG())
			return symlink(tb, "real.png", filepath.Join(dir, "link-in.png")), []string{dir}
		}, want: ErrSymlinkEscape, says: "is a link, and links inside"},
		{name: "symlink to /etc/passwd, no roots", file: "passwd2.png", setup: func(tb testing.TB, dir string) (string, []string) {
			return symlink(tb, "/etc/passwd", filepath.Join(dir, "passwd2.png")), nil
		}, want: ErrUnsupportedFormat, says: "a text file"},
		{name: "relative symlink climbing out of root", file: "climb.png", setup: func(tb testing.TB, dir string) (string, []string) {
			root := mkdir(tb, filepath.Join(dir, "root"))
			writeFile(tb, filepath.Join(dir, "outside.png"), validPNG())
			return symlink(tb, "../outside.png", filepath.Join(root, "climb.png")), []string{root}
		}, want: ErrSymlinkEscape},
		{name: "folder symlink escaping root", file: "x.png", setup: func(tb testing.TB, dir string) (string, []string) {
			other := tb.TempDir()
			writeFile(tb, filepath.Join(other, "x.png"), validPNG())
			symlink(tb, other, filepath.Join(dir, "linkdir"))
			return filepath.Join(dir, "linkdir", "x.png"), []string{dir}
		}, want: ErrSymlinkEscape, says: "through a linked folder"},
		{name: "regular file outside roots (roots constrain links only)", file: "direct.png", setup: func(tb testing.TB, dir string) (string, []string) {
			writeFile(tb, filepath.Join(dir, "direct.png"), validPNG())
			return filepath.Join(dir, "direct.png"), []string{tb.TempDir()}
		}, info: Info{Format: PNG, Width: 32, Height: 24}},
		{name: "dangling symlink", file: "gone.png", setup: func(tb testing.TB, dir string) (string, []string) {
			return symlink(tb, filepath.Join(dir, "nothing.png"), filepath.Join(dir, "gone.png")), nil
		}, want: ErrNotFound},
		{name: "symlink loop", file: "loop.png", setup: func(tb testing.TB, dir string) (string, []string) {
			symlink(tb, "loop2.png", filepath.Join(dir, "loop1.png"))
			symlink(tb, "loop1.png", filepath.Join(dir, "loop2.png"))
			return filepath.Join(dir, "loop1.png"), nil
		}, want: ErrSymlinkEscape},
		{name: "fifo", file: "pipe.png", setup: func(tb testing.TB, dir string) (string, []string) {
			return mkfifo(tb, filepath.Join(dir, "pipe.png")), nil
		}, want: ErrNotRegularFile, says: "named pipe"},
		{name: "symlink to fifo", file: "pipelink.png", setup: func(tb testing.TB, dir string) (string, []string) {
			mkfifo(tb, filepath.Join(dir, "pipe2.png"))
			return symlink(tb, "pipe2.png", filepath.Join(dir, "pipelink.png")), nil
		}, want: ErrNotRegularFile},
		{name: "/dev/zero behind a symlink", file: "zero.png", setup: func(tb testing.TB, dir string) (string, []string) {
			return symlink(tb, "/dev/zero", filepath.Join(dir, "zero.png")), nil
		}, want: ErrNotRegularFile, says: "a link to a device"},
		{name: "unix socket", file: "sock.png", setup: func(tb testing.TB, dir string) (string, []string) {
			p := filepath.Join(dir, "sock.png")
			l, err := net.Listen("unix", p)
			if err != nil {
				tb.Skipf("no unix sockets: %v", err)
			}
			tb.Cleanup(func() { l.Close() })
			return p, nil
		}, want: ErrNotRegularFile, says: "a socket"},
		{name: "directory", file: "folder.png", setup: func(tb testing.TB, dir string) (string, []string) {
			return mkdir(tb, filepath.Join(dir, "folder.png")), nil
		}, want: ErrNotRegularFile, says: "a folder"},
		{name: "missing file", file: "missing.png", setup: func(tb testing.TB, dir string) (string, []string) {
			return filepath.Join(dir, "missing.png"), nil
		}, want: ErrNotFound, says: "does not exist"},
		{name: "file used as a folder", file: "inner.png", setup: func(tb testing.TB, dir string) (string, []string) {
			writeFile(tb, filepath.Join(dir, "outer.png"), validPNG())
			return filepath.Join(dir, "outer.png", "inner.png"), nil
		}, want: ErrNotFound},
		{name: "80 MiB sparse file", file: "big.jpg", setup: func(tb testing.TB, dir string) (string, []string) {
			p := filepath.Join(dir, "big.jpg")
			writeFile(tb, p, validJPEG())
			if err := os.Truncate(p, 80<<20); err != nil {
				tb.Fatal(err)
			}
			return p, nil
		}, want: ErrTooLarge, says: `"big.jpg" is 80.0 MiB, the limit is 64 MiB`},
		{name: "over a small byte cap", file: "capped.png", data: validPNG, lim: Limits{MaxBytes: 100},
			want: ErrTooLarge, says: "the limit is 100 bytes"},
	}, heifCorpus()...)
}

func writeFile(tb testing.TB, path string, data []byte) {
	tb.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		tb.Fatal(err)
	}
}

func symlink(tb testing.TB, target, link string) string {
	tb.Helper()
	if err := os.Symlink(target, link); err != nil {
		tb.Skipf("cannot make symlinks here: %v", err)
	}
	return link
}

func mkdir(tb testing.TB, path string) string {
	tb.Helper()
	if err := os.Mkdir(path, 0o755); err != nil {
		tb.Fatal(err)
	}
	return path
}
