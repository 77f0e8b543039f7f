package validate

import (
	"bytes"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"
)

// Format is a supported image format, named as image.RegisterFormat names it.
type Format string

// The supported formats.
const (
	PNG  Format = "png"
	JPEG Format = "jpeg"
	BMP  Format = "bmp"
	TIFF Format = "tiff"
	WebP Format = "webp"
	// HEIF is a HEIF file whose brands do not say AV1: HEIC (HEVC-coded) photos, as phones
	// write them, and files with only the structural brands mif1/msf1.
	HEIF Format = "heif"
	// AVIF is a HEIF file with the avif or avis brand (AV1-coded).
	AVIF Format = "avif"
)

// SniffLen is how many leading bytes Sniff looks at, at most; pass at least
// this many when the file has them.
const SniffLen = 512

// supportedList is appended to every unsupported-format message.
const supportedList = "(supported: PNG, JPEG, BMP, TIFF, WebP, HEIC, AVIF)"

// label is how messages name the format: "a PNG image".
func (f Format) label() string {
	switch f {
	case PNG:
		return "PNG"
	case JPEG:
		return "JPEG"
	case BMP:
		return "BMP"
	case TIFF:
		return "TIFF"
	case WebP:
		return "WebP"
	case HEIF:
		return "HEIC"
	case AVIF:
		return "AVIF"
	}
	return strings.ToUpper(string(f))
}

// a is the label with its article: "a PNG", "an AVIF".
func (f Format) a() string {
	if f == AVIF {
		return "an AVIF"
	}
	return "a " + f.label()
}

// extFormats maps every accepted extension (lower case) to its format.
var extFormats = map[string]Format{
	".png":  PNG,
	".jpg":  JPEG,
	".jpeg": JPEG,
	".jpe":  JPEG,
	".jfif": JPEG,
	".bmp":  BMP,
	".dib":  BMP,
	".tif":  TIFF,
	".tiff": TIFF,
	".webp": WebP,
	".heic": HEIF,
	".heif": HEIF,
	".hif":  HEIF, // Canon's and Fujifilm's name for their HEIF photos
	".avif": AVIF,
}

// Extensions lists the accepted file extensions in lower case with the
// leading dot, sorted; for file dialogs and hot-folder filters.
func Extensions() []string {
	exts := make([]string, 0, len(extFormats))
	for e := range extFormats {
		exts = append(exts, e)
	}
	slices.Sort(exts)
	return exts
}

// checkExtension refuses a name whose extension disagrees with format. A name
// without an extension is accepted on its content alone: files from some
// cameras, scanners and web downloads have none, and the content was sniffed.
func checkExtension(name string, format Format) error {
	ext := filepath.Ext(name)
	if ext == "" || ext == "." {
		return nil
	}
	want, known := extFormats[strings.ToLower(ext)]
	switch {
	case known && want == format,
		// AVIF is a profile of HEIF, and .heif its generic name.
		known && want == HEIF && format == AVIF && strings.EqualFold(ext, ".heif"):
		return nil
	case known:
		return refuse(name, ErrExtensionMismatch, "is %s image but its name says %s", format.a(), want.label())
	}
	return refuse(name, ErrExtensionMismatch, "is %s image but its name ends in %s, not an image extension",
		format.a(), displayExt(ext))
}

// displayExt shortens and sanitises an extension for messages.
func displayExt(ext string) string {
	if len(ext) > 16 || !utf8.ValidString(ext) {
		return "an unknown extension"
	}
	return displayName(ext)
}

// magic is a signature of a supported format.
type magic struct {
	sig    string
	format Format
}

var magics = []magic{
	{"\x89PNG\r\n\x1a\n", PNG},
	{"\xff\xd8\xff", JPEG},
	{"II*\x00", TIFF},
	{"MM\x00*", TIFF},
}

// foreign is a signature of a recognised format this app does not read.
type foreign struct {
	sig   string
	name  string // "a GIF image"
	image bool   // an image, just not one we read
}

var foreigns = []foreign{
	{"GIF87a", "a GIF image", true},
	{"GIF89a", "a GIF image", true},
	{"II+\x00", "a BigTIFF image", true},
	{"MM\x00+", "a BigTIFF image", true},
	{"8BPS", "a Photoshop document", true},
	{"\xff\x0a", "a JPEG XL image", true},
	{"\x00\x00\x00\x0cJXL \r\n\x87\n", "a JPEG XL image", true},
	{"\x00\x00\x00\x0cjP  \r\n\x87\n", "a JPEG 2000 image", true},
	{"\x00\x00\x01\x00", "an icon file", true},
	{"qoif", "a QOI image", true},
	{"PK\x03\x04", "a ZIP archive", false},
	{"PK\x05\x06", "a ZIP archive", false},
	{"PK\x07\x08", "a ZIP archive", false},
	{"%PDF-", "a PDF document", false},
	{"\x7fELF", "an executable", false},
	{"MZ", "an executable", false},
	{"\xfe\xed\xfa\xce", "an executable", false},
	{"\xfe\xed\xfa\xcf", "an executable", false},
	{"\xce\xfa\xed\xfe", "an executable", false},
	{"\xcf\xfa\xed\xfe", "an executable", false},
	{"\xca\xfe\xba\xbe", "an executable", false},
	{"#!", "a script", false},
	{"\x1f\x8b", "a gzip archive", false},
	{"BZh", "a bzip2 archive", false},
	{"\xfd7zXZ\x00", "an xz archive", false},
	{"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", false},
	{"Rar!\x1a\x07", "a RAR archive", false},
	{"%!PS", "a PostScript document", false},
	{"{\\rtf", "an RTF document", false},
	{"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Office document", false},
}

// Sniff identifies a supported format from the first bytes of a file (up to
// SniffLen are looked at) by magic bytes alone. Anything else is refused with
// ErrUnsupportedFormat, naming what it is when recognised ("a GIF image", "a
// ZIP archive", "an HTML page", ...). A head that is only the beginning of a
// supported signature is refused with ErrCorrupt, an empty one with ErrEmpty.
// The returned *Error has an empty Path; File and Bytes fill it in.
func Sniff(head []byte) (Format, error) {
	if len(head) > SniffLen {
		head = head[:SniffLen]
	}
	if len(head) == 0 {
		return "", refuse("", ErrEmpty, "is empty (0 bytes)")
	}
	for _, m := range magics {
		if bytes.HasPrefix(head, []byte(m.sig)) {
			return m.format, nil
		}
	}
	if f, ok := sniffRIFF(head); ok {
		return f, nil
	}
	if f, ok := sniffFtyp(head); ok {
		return f, nil
	}
	if isBMP(head) {
		return BMP, nil
	}
	if truncatedMagic(head) {
		return "", corrupt("", "too short to hold an image header")
	}
	if name, isImage := recognise(head); name != "" {
		if isImage {
			return "", refuse("", ErrUnsupportedFormat, "is %s, which this app cannot read %s", name, supportedList)
		}
		return "", refuse("", ErrUnsupportedFormat, "is %s, not an image %s", name, supportedList)
	}
	return "", refuse("", ErrUnsupportedFormat, "is not an image this app recognises %s", supportedList)
}

// sniffRIFF recognises "RIFF" size "WEBP".
func sniffRIFF(head []byte) (Format, bool) {
	if len(head) >= 12 && string(head[:4]) == "RIFF" && string(head[8:12]) == "WEBP" {
		return WebP, true
	}
	return "", false
}

// heifBrands sorts the ftyp brands a HEIF file may carry (ISO/IEC 23008-12 and the AVIF
// specification): a codec brand says how the images are coded, a structural brand only that
// the file follows HEIF. Sequence brands (avis, hevc, hevx, msf1) mean an image sequence,
// which a HEIF file carries alongside a still primary image or instead of one; the structure
// check refuses a file without the still image.
var heifBrands = map[string]Format{
	"avif": AVIF, // AV1 still image
	"avis": AVIF, // AV1 image sequence
	"heic": HEIF, // HEVC Main or Main Still Picture image
	"heix": HEIF, // HEVC image in a range-extensions profile (10-bit, 4:2:2, 4:4:4)
	"hevc": HEIF, // HEVC image sequence
	"hevx": HEIF, // HEVC image sequence, range-extensions profile
	"heim": HEIF, // multi-layer (L-HEVC) image; its base layer is plain HEVC
	"heis": HEIF, // scalable (SHVC) image; its base layer is plain HEVC
}

// structuralBrands name HEIF without naming a codec: a still image (mif1) or a sequence
// (msf1).
var structuralBrands = map[string]bool{"mif1": true, "msf1": true}

// sniffFtyp recognises a HEIF file by its ftyp box: the major brand if it names a codec,
// else the first compatible brand that does, else a structural brand alone (such a file is
// read as HEIF). The brands are read only as far as head and the box go.
func sniffFtyp(head []byte) (Format, bool) {
	if len(head) < 12 || string(head[4:8]) != "ftyp" {
		return "", false
	}
	end := min(uint64(be32(head)), uint64(len(head)))
	if f, ok := heifBrands[string(head[8:12])]; ok {
		return f, true
	}
	structural := structuralBrands[string(head[8:12])]
	for p := uint64(16); p+4 <= end; p += 4 {
		b := string(head[p : p+4])
		if f, ok := heifBrands[b]; ok {
			return f, true
		}
		structural = structural || structuralBrands[b]
	}
	if structural {
		return HEIF, true
	}
	return "", false
}

// isBMP checks "BM" plus a known DIB header size: two bytes of magic alone
// would match text starting with "BM".
func isBMP(head []byte) bool {
	if len(head) < 18 || string(head[:2]) != "BM" {
		return false
	}
	switch le32(head[14:]) {
	case 12, 16, 40, 52, 56, 64, 108, 124:
		return true
	}
	return false
}

// truncatedMagic reports a head too short to decide that is still the start
// of a supported signature: a PNG or JPEG cut after a few bytes is damaged,
// not foreign.
func truncatedMagic(head []byte) bool {
	for _, m := range magics {
		if len(head) < len(m.sig) && strings.HasPrefix(m.sig, string(head)) {
			return true
		}
	}
	riff := "RIFF\x00\x00\x00\x00WEBP"
	if len(head) < len(riff) && strings.HasPrefix(riff[:4], string(head[:min(4, len(head))])) {
		if len(head) <= 8 || strings.HasPrefix(riff[8:], string(head[8:])) {
			return true
		}
	}
	if len(head) >= 8 && len(head) < 12 && string(head[4:8]) == "ftyp" {
		return true // a HEIF file cut inside its ftyp box
	}
	return len(head) < 18 && bytes.HasPrefix(head, []byte("BM"))
}

// recognise names a format we do not read; isImage tells an image format
// ("which this app cannot read") from anything else ("not an image").
func recognise(head []byte) (name string, isImage bool) {
	for _, f := range foreigns {
		if bytes.HasPrefix(head, []byte(f.sig)) {
			return f.name, f.image
		}
	}
	if len(head) >= 12 && string(head[4:8]) == "ftyp" {
		return "a video", false
	}
	if len(head) >= 12 && string(head[:4]) == "RIFF" {
		switch string(head[8:12]) {
		case "WAVE":
			return "a WAV audio file", false
		case "AVI ":
			return "an AVI video", false
		}
		return "a RIFF file", false
	}
	return recogniseText(head)
}

// recogniseText names markup and plain text. It skips a UTF-8 byte-order
// mark and leading white space, then looks at tags case-insensitively.
func recogniseText(head []byte) (string, bool) {
	t := bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	t = bytes.TrimLeft(t, " \t\r\n\f")
	lower := bytes.ToLower(t)
	if bytes.HasPrefix(lower, []byte("<")) {
		if bytes.Contains(lower, []byte("<svg")) {
			return "an SVG drawing", false
		}
		for _, tag := range htmlTags {
			if bytes.HasPrefix(lower, []byte(tag)) {
				return "an HTML page", false
			}
		}
		if bytes.HasPrefix(lower, []byte("<?xml")) {
			return "an XML document", false
		}
	}
	if isText(head) {
		return "a text file", false
	}
	return "", false
}

// htmlTags open an HTML document (the same idea as the WHATWG sniffing
// algorithm, which net/http.DetectContentType follows).
var htmlTags = []string{
	"<!doctype html", "<html", "<head", "<body", "<script", "<iframe", "<!--",
	"<meta", "<title", "<style", "<table", "<div", "<font", "<br", "<p", "<a ", "<h1", "<b>",
}

// isText reports whether head is valid UTF-8 without control characters
// other than white space. The last rune may be cut by the SniffLen limit.
func isText(head []byte) bool {
	for i := 0; i < len(head); {
		r, n := utf8.DecodeRune(head[i:])
		if r == utf8.RuneError && n <= 1 {
			return len(head)-i < utf8.UTFMax && len(head) == SniffLen
		}
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' && r != '\f' || r == 0x7f {
			return false
		}
		i += n
	}
	return true
}

// le32 and le16 read little-endian integers; be32 and be16 big-endian ones.
func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}
func le16(b []byte) uint16 { return uint16(b[0]) | uint16(b[1])<<8 }
func be32(b []byte) uint32 {
	return uint32(b[3]) | uint32(b[2])<<8 | uint32(b[1])<<16 | uint32(b[0])<<24
}
func be16(b []byte) uint16 { return uint16(b[1]) | uint16(b[0])<<8 }
