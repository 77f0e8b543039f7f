package quote

import (
	"strings"
	"testing"
)

// hostile are names an attacker can give a file: terminal escapes (clear screen, OSC 0
// window title, OSC 52 clipboard write), a newline forging a line of output, invalid UTF-8,
// a bidi override.
var hostile = []string{
	"\x1b[2J.jpg",
	"\x1b]0;owned\x07.png",
	"\x1b]52;c;cm0gLXJmIH4=\x07.png",
	"x.jpg\n  failed: fake",
	"bad\xff\xfe.jpg",
	"\u202egpj.exe",
	"tab\there\r.png",
}

func TestNoControlBytesSurvive(t *testing.T) {
	for _, s := range hostile {
		for _, got := range []string{Name(s), Text(s), Text("refused: " + s + " is empty")} {
			for i := 0; i < len(got); i++ {
				if c := got[i]; c < 0x20 || c == 0x7f {
					t.Errorf("%q: control byte %#x left in %q", s, c, got)
				}
			}
			if strings.Contains(got, "\u202e") || strings.Contains(got, "\xff") {
				t.Errorf("%q: left in %q", s, got)
			}
		}
	}
}

func TestReadable(t *testing.T) {
	for in, want := range map[string]string{
		"photo.jpg":             `"photo.jpg"`,
		"my holiday 写真.jpg":     `"my holiday 写真.jpg"`,
		"x.jpg\n  failed: fake": `"x.jpg\n  failed: fake"`,
		"\x1b[2J.jpg":           `"\x1b[2J.jpg"`,
		"bad\xff.jpg":           `"bad\xff.jpg"`,
		`a"b\c.png`:             `"a\"b\\c.png"`,
	} {
		if got := Name(in); got != want {
			t.Errorf("Name(%q) = %s, want %s", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"refused: photo.jpg is empty":      "refused: photo.jpg is empty",
		`C:\photos\a.jpg`:                  `C:\photos\a.jpg`,
		"décodé 写真":                        "décodé 写真",
		"line one\nline two":               `line one\nline two`,
		"\x1b]52;c;Zm9v\x07":               `\x1b]52;c;Zm9v\a`,
		"bad \xff byte":                    `bad \xff byte`,
		"a\u202eb":                         `a\u202eb`,
		"no\u00a0break":                    `no\u00a0break`,
		"\ufffd is a character of its own": "\ufffd is a character of its own",
	} {
		if got := Text(in); got != want {
			t.Errorf("Text(%q) = %s, want %s", in, got, want)
		}
		if again := Text(Text(in)); again != Text(in) {
			t.Errorf("Text is not idempotent on %q: %s then %s", in, Text(in), again)
		}
	}
}
