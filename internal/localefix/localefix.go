// Package localefix keeps Fyne quiet under the "C.UTF-8" locale (the default of Debian
// containers, cron and systemd services): Fyne's language package reads the locale when it
// is initialised and logs a three-line parse error for "C.UTF-8" on every start, also for
// the command line. When the locale is C or POSIX with an encoding, this sets LANGUAGE to
// English, which is all Fyne would fall back to; gettext-based programs ignore LANGUAGE under
// the C locale, so nothing else changes.
//
// main imports it first; Go initialises packages in import-path order once their own imports
// are ready, and "cutout/…" sorts before "fyne.io/…", so this runs before Fyne reads the
// locale.
package localefix

import (
	"os"
	"strings"
)

func init() { apply(os.Getenv, os.Setenv) }

func apply(get func(string) string, set func(string, string) error) {
	for _, name := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		v := get(name)
		if v == "" {
			continue
		}
		lang, _, hasEnc := strings.Cut(v, ".")
		if hasEnc && (lang == "C" || lang == "POSIX") && get("LANGUAGE") == "" {
			set("LANGUAGE", "en")
		}
		return
	}
}
