// Package quote makes text that came from outside Cutout — file and folder names, messages
// from the engine process, system errors that repeat a path — safe to print on a terminal, in
// a log file or in a window label. A name can hold any byte but '/' and NUL: an ANSI escape
// could clear the screen, set the terminal's title or write to its clipboard (OSC 52), a
// newline could forge a line of output ("failed: …"), a bidi override could make one name
// look like another. Everything that shows such text goes through Name or Text.
package quote

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Name quotes a file or folder name (or a whole path) for a message: "photo.jpg", with
// control characters, invalid UTF-8 and invisible or direction-changing characters escaped
// the way Go writes them ("a\nb.jpg", "\x1b[2J.png", "\u202egpj.exe"). Letters of every
// script are kept as they are, so names stay readable.
func Name(name string) string {
	return strconv.Quote(name)
}

// Text makes free text printable: the characters Name would escape are escaped the same way
// (without quotes), everything else, backslashes included, is left as it is. Text of its own
// result is that result, so text made safe twice reads the same as once.
func Text(s string) string {
	if safe(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteString(`\x`)
			b.WriteString(strconv.FormatUint(uint64(s[i])|0x100, 16)[1:])
		case printable(r):
			b.WriteString(s[i : i+n])
		default:
			q := strconv.QuoteRune(r) // 'x' with the escape inside
			b.WriteString(q[1 : len(q)-1])
		}
		i += n
	}
	return b.String()
}

// safe reports whether Text would leave s alone.
func safe(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return asciiless(s[i:])
		}
	}
	return true
}

// asciiless checks the rest of a string that has left plain printable ASCII.
func asciiless(s string) bool {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || !printable(r) {
			return false
		}
		i += n
	}
	return true
}

// printable is strconv's notion of a character that may appear unescaped in a quoted
// string: graphic characters and the ASCII space, but no other spaces, controls or format
// characters (bidi overrides, zero-width joiners).
func printable(r rune) bool {
	return r == ' ' || unicode.IsPrint(r)
}
