// Package validate decides whether an untrusted input file may enter the
// pipeline at all. It owns content sniffing (magic bytes), the agreement
// between a file's name and its content, safe opening (no devices, FIFOs,
// directories; beneath the folder the user named, never through a link below
// it, whatever is renamed meanwhile), the byte cap,
// and the dimension and pixel caps read from the image header.
//
// It runs in the main process, so it must never decode pixels: it reads
// headers with each format's own DecodeConfig plus a few cheap structural
// walks of its own (PNG chunks, JPEG markers, TIFF IFD, BMP header, WebP RIFF
// chunks, HEIF boxes down to the HEVC and AV1 sequence headers), none of which
// inflate or decompress image data. HEIC and AVIF have no Go header reader:
// the box walk is theirs. Decoding belongs to the sandboxed engine process.
// The package must never import Fyne, ui/ or app/.
//
// Every refusal is an *Error that names the file, reads well to a person, and
// unwraps to one of the sentinel errors (ErrTooLarge, ErrCorrupt, ...), so
// callers can branch with errors.Is.
//
// Policy decisions worth knowing:
//   - A file with no extension is accepted on its content alone; a file with
//     any other extension must carry one of the extensions of its format.
//   - Content wins over the name: a GIF named photo.jpg is refused as a GIF.
//   - Data after the declared end of a PNG (IEND), WebP (RIFF size) or HEIF
//     (its last box) is refused: such polyglots (a PNG with a ZIP appended) have no legitimate
//     use. Data after a JPEG's EOI is accepted, because phones append real
//     data there (motion-photo videos, depth maps); decoders ignore it and
//     it never leaves the engine.
package validate
