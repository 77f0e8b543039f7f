package watch

import (
	"path/filepath"
	"strconv"
	"strings"

	"cutout/internal/beneath"
)

// partialSuffixes are the endings downloaders, browsers and copiers give a file while they
// write it; such a file is ignored until it is renamed to its final name.
var partialSuffixes = []string{".part", ".partial", ".crdownload", ".download", ".tmp", ".temp", ".swp", "~"}

// Ignored reports whether a file or folder name is never an input: hidden names (dot-files,
// including Cutout's own .cutout-* files and folders) and names of files still being written.
func Ignored(name string) bool {
	if name == "" || name[0] == '.' {
		return true
	}
	lower := strings.ToLower(name)
	for _, s := range partialSuffixes {
		if strings.HasSuffix(lower, s) {
			return true
		}
	}
	return false
}

// hiddenPath reports whether any element of the slash- or separator-separated relative path
// rel is ignored (a hidden folder hides everything in it).
func hiddenPath(rel string) bool {
	for _, el := range strings.Split(filepath.ToSlash(rel), "/") {
		if el != "" && el != "." && Ignored(el) {
			return true
		}
	}
	return false
}

// outputName is the name the Handler gives the result of rel with clash number n (0: none):
// "a/b.jpg" → "a/b.png", "a/b (1).png", …, shortened as beneath.Numbered shortens names
// that would not fit the system's limit.
func outputName(rel, ext string, n int) string {
	stem := strings.TrimSuffix(rel, filepath.Ext(rel))
	return filepath.Join(filepath.Dir(stem), beneath.Numbered(filepath.Base(stem)+ext, n))
}

// mayBeOutputOf reports whether the file at abs could be (now or soon) the output that the
// job for input rel writes into out: the same folder, and the name outputName gives for some
// clash number.
func mayBeOutputOf(abs, out, rel, ext string) bool {
	want := filepath.Join(out, outputName(rel, ext, 0))
	if filepath.Dir(abs) != filepath.Dir(want) {
		return false
	}
	name := filepath.Base(abs)
	if name == filepath.Base(want) {
		return true
	}
	rest, ok := strings.CutSuffix(name, ")"+ext)
	if !ok {
		return false
	}
	i := strings.LastIndex(rest, " (")
	if i < 0 {
		return false
	}
	n, err := strconv.Atoi(rest[i+2:])
	if err != nil || n < 1 || strconv.Itoa(n) != rest[i+2:] {
		return false
	}
	return name == filepath.Base(outputName(rel, ext, n))
}

// inside reports whether path lies in dir or is dir (both clean and absolute), and returns
// path relative to dir.
func inside(dir, path string) (string, bool) {
	rel, err := filepath.Rel(dir, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return "", false
	}
	return rel, true
}
