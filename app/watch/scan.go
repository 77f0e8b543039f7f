package watch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

	"cutout/engine/validate"
	"cutout/internal/quote"
)

// excluded reports whether rel (inside In) is in Out's tree, when Out is inside In.
func (r *runner) excluded(rel string) bool {
	return r.excl != "" && (rel == r.excl || strings.HasPrefix(rel, r.excl+string(filepath.Separator)))
}

// scan walks dir (In or a folder in it), watching folders (if recursive) and noting files.
func (r *runner) scan(dir string) {
	if dir == r.root {
		r.full = false
	}
	now := time.Now()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == dir {
				return err
			}
			return nil
		}
		rel, ok := inside(r.root, path)
		if !ok || rel == "." {
			return nil
		}
		if d.IsDir() {
			if path != dir && (!r.cfg.Recursive || Ignored(d.Name()) || r.excluded(rel)) {
				return filepath.SkipDir
			}
			if path != r.root {
				if err := r.fsw.Add(path); err != nil {
					r.tell(rel, fmt.Sprintf("cannot be watched (%v); it is still scanned every %s", errText(err), r.cfg.Rescan))
				}
			}
			return nil
		}
		if hiddenPath(rel) || !r.cfg.accepts(d.Name()) {
			return nil
		}
		if !d.Type().IsRegular() {
			r.special(rel, d.Type())
			return nil
		}
		if fi, err := d.Info(); err == nil {
			r.note(rel, fi, now)
		}
		return nil
	})
	if err != nil && dir == r.root {
		r.checkRoot()
	}
	r.counts()
}

// special reports, once, a link, FIFO, socket or device where an input could be.
func (r *runner) special(rel string, mode fs.FileMode) {
	what := "is " + validate.KindOf(mode)
	if mode&fs.ModeSymlink != 0 {
		what = "is a link; links are never followed"
	}
	r.tell(rel, what+"; skipped")
}

// tell logs a skipped path once per run (bounded, so a flood of oddities stays small).
func (r *runner) tell(rel, msg string) {
	if r.told[rel] || len(r.told) > 10000 {
		return
	}
	r.told[rel] = true
	r.w.log(Activity{Kind: KindSkipped, Path: rel, Message: msg})
}

// onEvent handles one notification.
func (r *runner) onEvent(ev fsnotify.Event) {
	if r.root == "" {
		return
	}
	if ev.Name == r.root {
		if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
			r.checkRoot()
		}
		return
	}
	rel, ok := inside(r.root, ev.Name)
	if !ok || rel == "." || hiddenPath(rel) || r.excluded(rel) {
		return
	}
	fi, err := os.Lstat(ev.Name)
	if err != nil {
		if e := r.pending[rel]; e != nil && e.state == settling {
			r.forget(rel) // removed or renamed away
			r.counts()
		}
		return
	}
	switch {
	case fi.IsDir():
		if r.cfg.Recursive && ev.Has(fsnotify.Create) {
			r.scan(ev.Name) // a folder created or moved in: watch it, take what it holds
		}
	case !r.cfg.accepts(fi.Name()):
	case !fi.Mode().IsRegular():
		r.special(rel, fi.Mode().Type())
	default:
		r.note(rel, fi, time.Now())
		r.counts()
	}
}

// onWatchError handles an error from the notification watcher; an overflow means events
// were lost, so the folder is walked again.
func (r *runner) onWatchError(err error) {
	if errors.Is(err, fsnotify.ErrEventOverflow) {
		r.w.log(Activity{Kind: KindInfo, Message: "too many changes at once for the system's notifications; rescanning " + quote.Name(r.cfg.In)})
		if r.root != "" {
			r.scan(r.root)
		}
		return
	}
	r.w.log(Activity{Kind: KindProblem, Message: fmt.Sprintf("watching %s: %v", quote.Name(r.cfg.In), err)})
}

// note records that the regular file rel is at this version now. A new input claims its
// output name at once (see runner.claim), so the first to arrive gets the plain name; the
// files a scan finds together arrive in the walk's lexical order: with a.jpg and a.png in
// IN, a.jpg gets a.png and a.png gets "a (1).png", whichever is done first.
func (r *runner) note(rel string, fi os.FileInfo, now time.Time) {
	if e := r.pending[rel]; e != nil {
		if sameVersion(e.fi, fi) {
			return
		}
		if e.state != settling {
			e.dirty = true // look again when its job ends
			return
		}
		e.newVersion(fi, now)
		return
	}
	if rec, ok := r.handled(rel, fi); ok {
		if r.counting {
			r.w.update(func(s *Stats) {
				if rec.Op == OpFailed {
					s.StillFailed++
				} else {
					s.Skipped++
				}
			})
		}
		return
	}
	if r.isOutput(rel) {
		return
	}
	if len(r.pending) >= r.cfg.MaxPending {
		r.full = true
		return
	}
	e := &entry{rel: rel, fi: fi, since: now}
	r.pending[rel] = e
	r.order = append(r.order, rel)
	r.claim(e)
	r.w.update(func(s *Stats) { s.Seen++ })
}

// ctimeSlack is how far before the journal's record a file's status-change time may lie and
// still count as a change after it: the system stamps files from a clock that lags the one
// the records are stamped with by up to a scheduler tick (a few milliseconds).
const ctimeSlack = 100 * time.Millisecond

// handled reports whether the journal has an outcome for exactly this version of rel that
// needs nothing more (a done input still to be moved needs its move), and returns it.
//
// A version is its content: the same hash is the same version whatever the times say, and
// new content under the same size and modification time (`cp -p`, `touch -r`) is a new
// version. Hashing every file on every scan to tell would read all of IN every 30 s, so the
// journal's size and modification time are trusted only while the file's status has not
// changed since the outcome was recorded: the system moves the status-change time (ctime)
// on every write and every change of the modification time, and a replacing rename brings
// another inode, whose ctime moves too. A file whose ctime is later is hashed, once: if its
// content is the recorded one, the outcome is recorded again (runner.sameContent) and the
// file is trusted from then on. Where there is no ctime (not Linux) size and time decide
// alone; on a network folder whose server's clock lags this one by more than ctimeSlack, a
// same-size, same-time replacement within that lag goes unseen.
func (r *runner) handled(rel string, fi os.FileInfo) (Record, bool) {
	rec, ok := r.j.Unchanged(rel, fi.Size(), fi.ModTime())
	if !ok || (r.cfg.Originals == Move && rec.Op == OpDone) {
		return rec, false
	}
	return rec, !changedAfter(fi, rec.Time.Add(-ctimeSlack))
}

// isOutput reports whether rel (inside In) is one of the watch's own outputs.
func (r *runner) isOutput(rel string) bool {
	if !r.overlap {
		return false
	}
	o, ok := inside(r.out, filepath.Join(r.root, rel))
	return ok && r.j.IsOutput(o)
}

// mayBeActiveOutput reports whether rel could be the output of a job being handled now,
// before the journal records it.
func (r *runner) mayBeActiveOutput(rel string) bool {
	if !r.overlap {
		return false
	}
	abs := filepath.Join(r.root, rel)
	for _, e := range r.pending {
		if e.state != settling && e.rel != rel && mayBeOutputOf(abs, r.out, e.rel, r.cfg.OutputExt) {
			return true
		}
	}
	return false
}
