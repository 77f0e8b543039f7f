//go:build linux

package beneath

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"unicode/utf8"
)

// NameMax is the longest file name, in bytes, that Linux file systems take (NAME_MAX).
const NameMax = 255

// TempPrefix and TempSuffix frame the names of WriteFile's temporary files, so that
// leftovers of a killed process can be recognised and swept.
const (
	TempPrefix = ".cutout-"
	TempSuffix = ".tmp"
)

// Options say how WriteFile names the file it writes.
type Options struct {
	// Replace replaces an existing regular file of the name instead of choosing a free
	// name. A link, a folder or anything else of that name is never replaced, and neither
	// is one of Keep: the file then gets a free name.
	Replace bool
	// Keep lists files never to be replaced (the inputs of a batch).
	Keep []fs.FileInfo
	// Unnumbered fails with fs.ErrExist when the name is taken instead of choosing a free
	// name; it does not apply with Replace.
	Unnumbered bool
}

// WriteFile writes the file rel (a relative path) beneath the folder root: write fills a
// new temporary file in rel's folder, which then gets its name. rel's folders are created as
// needed, each relative to the one before, and a link anywhere below root is never followed.
// The file and its folder are flushed to disk before it returns, so that it survives a crash.
// The name is rel's, or — when it is taken and not to be replaced — Numbered(name, 1), (2),
// …; an existing file is never replaced unless opt.Replace. Names are shortened to fit
// NameMax. It returns the path written, relative to root. On any failure nothing is left
// behind: no partial file ever appears under a final name.
func WriteFile(root, rel string, opt Options, write func(io.Writer) error) (string, error) {
	rel = filepath.Clean(rel)
	if !filepath.IsLocal(rel) {
		return "", &fs.PathError{Op: "write", Path: filepath.Join(root, rel), Err: ErrNotLocal}
	}
	top, err := OpenRoot(root, Create)
	if err != nil {
		return "", err
	}
	defer top.Close()
	sub, name := filepath.Split(rel)
	d, err := top.OpenDir(filepath.Clean(sub), Create)
	if err != nil {
		return "", err
	}
	defer d.Close()
	f, tmp, err := d.CreateTemp(TempPrefix, TempSuffix)
	if err != nil {
		return "", err
	}
	published := false
	defer func() {
		if !published {
			f.Close()
			d.Remove(tmp)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := write(bw); err != nil {
		return "", err
	}
	if err := bw.Flush(); err != nil {
		return "", err
	}
	if err := f.Chmod(0o644); err != nil {
		return "", err
	}
	if err := f.Sync(); err != nil {
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	final, err := d.publish(tmp, name, opt)
	if err != nil {
		return "", err
	}
	published = true
	d.Sync()
	return filepath.Join(sub, final), nil
}

// publish gives the temporary file tmp of d its final name.
func (d *Dir) publish(tmp, name string, opt Options) (string, error) {
	if opt.Replace {
		name = Numbered(name, 0)
		fi, err := d.Lstat(name)
		switch {
		case err == nil && !fi.Mode().IsRegular():
			return "", fmt.Errorf("%s exists and is not a regular file", d.join(name))
		case err == nil && kept(fi, opt.Keep):
			// An input: the result gets a free name instead.
		case err == nil || errors.Is(err, fs.ErrNotExist):
			// A link swapped in meanwhile is replaced itself: rename never follows one.
			return name, d.Rename(tmp, d, name)
		default:
			return "", err
		}
	} else if opt.Unnumbered {
		return name, d.place(tmp, d, Numbered(name, 0), false)
	}
	return d.placeNumbered(tmp, d, name, false)
}

// placeNumbered gives the file old of d the first free name among Numbered(name, 0), (1),
// … in to, and returns it. With keepOld the file keeps its old name too (it is a move
// otherwise).
func (d *Dir) placeNumbered(old string, to *Dir, name string, keepOld bool) (string, error) {
	for n := 0; n < 10000; n++ {
		try := Numbered(name, n)
		err := d.place(old, to, try, keepOld)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return try, err
	}
	return "", fmt.Errorf("no free name for %s", to.join(name))
}

// place gives old of d the name new in to unless new exists (fs.ErrExist): a hard link,
// then the old name removed; where the file system has no hard links, a rename that refuses
// to replace, or at worst a check and a rename.
func (d *Dir) place(old string, to *Dir, new string, keepOld bool) error {
	err := d.Link(old, to, new)
	if err == nil {
		if !keepOld {
			if err := d.Remove(old); err != nil {
				to.Remove(new)
				return err
			}
		}
		return nil
	}
	if errors.Is(err, fs.ErrExist) || !linkUnsupported(err) {
		return err
	}
	err = d.RenameNoReplace(old, to, new)
	if !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOSYS) {
		return err
	}
	if _, err := to.Lstat(new); err == nil {
		return &os.LinkError{Op: "rename", Old: d.join(old), New: to.join(new), Err: fs.ErrExist}
	}
	return d.Rename(old, to, new)
}

// Move moves the file srcRel beneath srcRoot to dstRel beneath dstRoot (its folders made as
// needed), or to a free Numbered name when dstRel is taken; it never replaces a file and never
// follows a link below either root. It returns where the file went, relative to dstRoot.
func Move(srcRoot, srcRel, dstRoot, dstRel string) (string, error) {
	srcTop, err := OpenRoot(srcRoot, Look)
	if err != nil {
		return "", err
	}
	defer srcTop.Close()
	srcSub, srcName := filepath.Split(filepath.Clean(srcRel))
	src, err := srcTop.OpenDir(filepath.Clean(srcSub), Sync)
	if err != nil {
		return "", err
	}
	defer src.Close()
	dstTop, err := OpenRoot(dstRoot, Create)
	if err != nil {
		return "", err
	}
	defer dstTop.Close()
	dstSub, dstName := filepath.Split(filepath.Clean(dstRel))
	dst, err := dstTop.OpenDir(filepath.Clean(dstSub), Create)
	if err != nil {
		return "", err
	}
	defer dst.Close()
	name, err := src.placeNumbered(srcName, dst, dstName, false)
	if err != nil {
		return "", err
	}
	dst.Sync()
	src.Sync()
	return filepath.Join(dstSub, name), nil
}

// Numbered is the name for clash number n of name: name itself for 0, "stem (n).ext"
// after; "photo.png", "photo (1).png", …. The stem is shortened, on a UTF-8 boundary, so
// that the whole fits NameMax bytes: a 255-byte name still gets a free name that can be
// created, and the same name and n always give the same result.
func Numbered(name string, n int) string {
	ext := filepath.Ext(name)
	if len(ext) > 16 {
		ext = "" // not an extension but a long name with a dot in it
	}
	stem := name[:len(name)-len(ext)]
	suffix := ""
	if n > 0 {
		suffix = " (" + strconv.Itoa(n) + ")"
	}
	keep := min(len(stem), NameMax-len(suffix)-len(ext))
	for keep > 0 && keep < len(stem) && !utf8.RuneStart(stem[keep]) {
		keep--
	}
	return stem[:keep] + suffix + ext
}

// kept reports whether fi is one of keep.
func kept(fi fs.FileInfo, keep []fs.FileInfo) bool {
	for _, k := range keep {
		if SameFile(fi, k) {
			return true
		}
	}
	return false
}

// linkUnsupported reports whether a hard link failed because the file system has none
// (FAT, some network shares), not because of the names.
func linkUnsupported(err error) bool {
	return errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.ENOTSUP) ||
		errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.EXDEV)
}
