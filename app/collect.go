package app

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"unicode/utf8"

	"cutout/engine/validate"
	"cutout/internal/quote"
)

// CollectJobs expands the files and folders the user named into jobs: a file named directly
// goes to OUT/name.png, a file found in a folder to OUT/<path inside that folder>.png.
// Folders' hidden entries and files whose extension no supported format uses are skipped;
// anything named directly is kept, so that validation explains why it is refused.
//
// A link named here is followed, because the user chose it: a linked folder is walked at its
// target, which becomes the folder its files are opened beneath (Job.Root). Links found
// inside a folder are not followed: a linked file becomes a job that validation refuses with
// the reason, and a linked folder is not entered. The errors are the parts of the folders
// that could not be read, each a *WalkError: each is a failure of the batch.
func CollectJobs(args []string) ([]Job, []error) {
	var jobs []Job
	var errs []error
	for _, a := range args {
		root, err := filepath.Abs(a)
		if err == nil {
			root, err = filepath.EvalSymlinks(root)
		}
		var fi os.FileInfo
		if err == nil {
			fi, err = os.Stat(root)
		}
		if err != nil || !fi.IsDir() {
			jobs = append(jobs, Job{Path: a, Rel: filepath.Base(a)})
			continue
		}
		err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			rel, rerr := filepath.Rel(root, path)
			if rerr != nil {
				return rerr
			}
			shown := filepath.Join(a, rel)
			if err != nil {
				errs = append(errs, &WalkError{Path: shown, Err: err})
				return nil
			}
			name := d.Name()
			if path != root && len(name) > 0 && name[0] == '.' {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.IsDir() || !knownExtension(name) {
				return nil
			}
			jobs = append(jobs, Job{Path: shown, Rel: rel, Root: root, In: rel})
			return nil
		})
		if err != nil {
			errs = append(errs, &WalkError{Path: a, Err: err})
		}
	}
	return jobs, errs
}

// WalkError is a part of a named folder that could not be read. It is a failure of the
// batch like a refused file: what it holds was not cut out.
type WalkError struct {
	Path string // the folder or file, as the user would write it
	Err  error
}

func (e *WalkError) Error() string {
	reason := systemReason(e.Err)
	switch {
	case errors.Is(e.Err, fs.ErrPermission):
		reason = "permission denied"
	case errors.Is(e.Err, syscall.ENAMETOOLONG):
		reason = "its path is too long for this system (folders nested too deep, or a name too long)"
	}
	return fmt.Sprintf("%s could not be read (%s); what it holds was not cut out", quote.Name(shortPath(e.Path)), quote.Text(reason))
}

// shortPath keeps a path that is too long to read in a message (a folder nested thousands
// deep) to its beginning and end.
func shortPath(p string) string {
	const head, tail = 100, 60
	if len(p) <= head+tail+20 {
		return p
	}
	h, t := head, len(p)-tail
	for h > 0 && !utf8.RuneStart(p[h]) {
		h--
	}
	for t < len(p) && !utf8.RuneStart(p[t]) {
		t++
	}
	return fmt.Sprintf("%s…(%d bytes)…%s", p[:h], len(p), p[t:])
}

func (e *WalkError) Unwrap() error { return e.Err }

// knownExtension reports whether name ends in an extension of a supported format.
func knownExtension(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return ext != "" && slices.Contains(validate.Extensions(), ext)
}
