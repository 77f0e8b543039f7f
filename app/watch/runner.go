package watch

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"cutout/engine/validate"
	"cutout/internal/quote"
)

// staleTemp is the age past which a leftover ".cutout-*.tmp" in OUT is a killed writer's:
// a live one is renamed within milliseconds of its creation.
const staleTemp = 10 * time.Second

// entry is a file between its arrival and its outcome.
type entry struct {
	rel     string
	size    int64
	mtime   time.Time
	since   time.Time // when this size and time were first seen
	state   entryState
	dirty   bool // an event came while it was queued or running
	retries int
	retryAt time.Time
}

type entryState int

const (
	settling entryState = iota
	queued
	running
)

// task is an entry handed to a worker, with the root it was found under.
type task struct {
	root, rel string
	fi        os.FileInfo
}

// resultKind is how a task ended.
type resultKind int

const (
	resDone resultKind = iota
	resFailed
	resSkipped   // the same content was already handled
	resChanged   // it changed while being read: settle again
	resVanished  // it is gone
	resRetry     // not its fault: try again later
	resAbandoned // the watch is stopping
)

type result struct {
	rel    string
	kind   resultKind
	output string // relative to OUT (done), or the new place of the original (moved)
	moved  string
	err    error
}

// runner is one Run of a watch: it owns the scheduler state, used from its goroutine only.
type runner struct {
	w   *Watch
	cfg Config
	j   *Journal
	fsw *fsnotify.Watcher

	root     string      // In with its links resolved, while attached ("" while missing)
	rootInfo os.FileInfo // In's identity when attached
	out      string      // Out with its links resolved
	excl     string      // Out relative to root, when strictly inside In: never scanned
	overlap  bool        // outputs may land inside In (Out is In, or contains it)
	problem  string      // the last reason In was missing, reported once

	pending map[string]*entry
	order   []string // pending keys in arrival order (may hold stale keys)
	full    bool     // arrivals were dropped because pending was full: rescan when it drains
	told    map[string]bool

	jobs    chan task
	results chan result
	wg      sync.WaitGroup
}

// newRunner creates OUT, opens its journal and the notification watcher.
func newRunner(w *Watch) (*runner, error) {
	c := w.cfg
	if err := os.MkdirAll(c.Out, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create the output folder %s: %w", quote.Name(c.Out), err)
	}
	out, err := filepath.EvalSymlinks(c.Out)
	if err != nil {
		return nil, fmt.Errorf("output folder %s: %w", quote.Name(c.Out), err)
	}
	j, err := OpenJournal(c.Out, c.In, c.OutputExt)
	if err != nil {
		return nil, err
	}
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		j.Close()
		return nil, fmt.Errorf("cannot watch %s: %w", quote.Name(c.In), err)
	}
	r := &runner{w: w, cfg: c, j: j, fsw: fsw, out: out, pending: map[string]*entry{}, told: map[string]bool{},
		jobs: make(chan task, c.Workers), results: make(chan result, c.Workers)}
	if j.Skipped > 0 {
		w.log(Activity{Kind: KindProblem, Message: fmt.Sprintf("the journal %s had %d damaged lines; they were skipped", quote.Name(filepath.Join(c.Out, JournalName)), j.Skipped)})
	}
	for _, a := range j.Adopted {
		w.log(Activity{Kind: KindDone, Path: a.Path, Output: a.Detail, Message: "written before an interruption; recorded now"})
	}
	return r, nil
}

// loop runs the watch until ctx ends.
func (r *runner) loop(ctx context.Context) {
	for range r.cfg.Workers {
		r.wg.Add(1)
		go r.worker(ctx)
	}
	defer r.shutdown()

	tick := time.NewTicker(min(max(r.cfg.Settle/4, 10*time.Millisecond), 250*time.Millisecond))
	defer tick.Stop()
	poll := time.NewTicker(r.cfg.Poll)
	defer poll.Stop()
	var rescan <-chan time.Time
	if r.cfg.Rescan > 0 {
		t := time.NewTicker(r.cfg.Rescan)
		defer t.Stop()
		rescan = t.C
	}
	sweepTemps(r.cfg.Out, staleTemp)
	r.checkRoot()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-r.fsw.Events:
			if ok && !r.w.testDrop.Load() {
				r.onEvent(ev)
			}
		case err, ok := <-r.fsw.Errors:
			if ok {
				r.onWatchError(err)
			}
		case err := <-r.w.testErrors:
			r.onWatchError(err)
		case res := <-r.results:
			r.finish(res)
			r.dispatch()
		case <-tick.C:
			r.dispatch()
		case <-poll.C:
			r.checkRoot()
		case <-rescan:
			sweepTemps(r.cfg.Out, staleTemp)
			if r.root != "" {
				r.scan(r.root)
			}
		}
	}
}

// shutdown stops the workers (a job in flight sees ctx end and is abandoned, unless its
// output is already written, which is then recorded) and releases the journal.
func (r *runner) shutdown() {
	close(r.jobs)
	go func() {
		r.wg.Wait()
		close(r.results)
	}()
	for res := range r.results {
		r.finish(res)
	}
	r.fsw.Close()
	r.j.Close()
}

// checkRoot attaches In when it is there and detaches it when it is gone or replaced; it
// also writes the journal again if OUT was deleted under it.
func (r *runner) checkRoot() {
	if again, err := r.j.Ensure(); err != nil {
		r.w.log(Activity{Kind: KindProblem, Message: err.Error()})
	} else if again {
		r.w.log(Activity{Kind: KindProblem, Message: "the journal in " + quote.Name(r.cfg.Out) + " was deleted; it was written again from memory"})
	}
	fi, err := os.Stat(r.cfg.In)
	if err == nil && !fi.IsDir() {
		err = fmt.Errorf("%s is not a folder", quote.Name(r.cfg.In))
	}
	if r.root != "" {
		if err == nil && os.SameFile(fi, r.rootInfo) {
			return
		}
		r.detach()
		if err == nil {
			r.w.log(Activity{Kind: KindProblem, Message: quote.Name(r.cfg.In) + " was replaced (re-created or remounted); watching the new one"})
		}
	}
	if err != nil {
		msg := fmt.Sprintf("the input folder %s is missing (deleted, renamed or unmounted?): %v; watching for it to return", quote.Name(r.cfg.In), errText(err))
		if msg != r.problem {
			r.problem = msg
			r.w.log(Activity{Kind: KindProblem, Message: msg})
		}
		r.w.update(func(s *Stats) { s.State, s.Problem = Missing, msg })
		return
	}
	if err := r.attach(fi); err != nil {
		r.detach()
		msg := fmt.Sprintf("cannot watch %s: %v", quote.Name(r.cfg.In), errText(err))
		if msg != r.problem {
			r.problem = msg
			r.w.log(Activity{Kind: KindProblem, Message: msg})
		}
		r.w.update(func(s *Stats) { s.State, s.Problem = Missing, msg })
	}
}

// attach starts watching In and scans it.
func (r *runner) attach(fi os.FileInfo) error {
	root, err := filepath.EvalSymlinks(r.cfg.In)
	if err != nil {
		return err
	}
	r.root, r.rootInfo, r.excl, r.overlap = root, fi, "", false
	if rel, ok := inside(root, r.out); ok && rel != "." {
		r.excl = rel
	} else if _, ok := inside(r.out, root); ok {
		r.overlap = true
	}
	if err := r.fsw.Add(root); err != nil {
		return err
	}
	back := r.problem != ""
	r.problem = ""
	r.w.update(func(s *Stats) { s.State, s.Problem = Watching, "" })
	if back {
		r.w.log(Activity{Kind: KindInfo, Message: quote.Name(r.cfg.In) + " is back; catching up"})
	} else {
		r.w.log(Activity{Kind: KindInfo, Message: fmt.Sprintf("watching %s into %s", quote.Name(r.cfg.In), quote.Name(r.cfg.Out))})
	}
	r.scan(root)
	return nil
}

// detach stops watching In; files still settling are forgotten (a later scan finds them).
func (r *runner) detach() {
	for _, p := range r.fsw.WatchList() {
		_ = r.fsw.Remove(p)
	}
	r.root = ""
	for rel, e := range r.pending {
		if e.state == settling {
			delete(r.pending, rel)
		}
	}
	r.counts()
}

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
			delete(r.pending, rel) // removed or renamed away
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

// note records that the regular file rel has this size and time now.
func (r *runner) note(rel string, fi os.FileInfo, now time.Time) {
	if e := r.pending[rel]; e != nil {
		if e.size == fi.Size() && e.mtime.Equal(fi.ModTime()) {
			return
		}
		if e.state != settling {
			e.dirty = true // look again when its job ends
			return
		}
		e.size, e.mtime, e.since = fi.Size(), fi.ModTime(), now
		return
	}
	if r.handled(rel, fi) || r.isOutput(rel) {
		return
	}
	if len(r.pending) >= r.cfg.MaxPending {
		r.full = true
		return
	}
	r.pending[rel] = &entry{rel: rel, size: fi.Size(), mtime: fi.ModTime(), since: now}
	r.order = append(r.order, rel)
	r.w.update(func(s *Stats) { s.Seen++ })
}

// handled reports whether the journal has an outcome for exactly this version of rel that
// needs nothing more (a done input still to be moved needs its move).
func (r *runner) handled(rel string, fi os.FileInfo) bool {
	rec, ok := r.j.Unchanged(rel, fi.Size(), fi.ModTime())
	return ok && !(r.cfg.Originals == Move && rec.Op == OpDone)
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

// dispatch hands settled files to the workers, in arrival order, while they have room.
func (r *runner) dispatch() {
	if r.root == "" {
		return
	}
	now := time.Now()
	live := r.order[:0]
	seen := make(map[string]bool, len(r.pending))
	room := true
	for _, rel := range r.order {
		e := r.pending[rel]
		if e == nil || seen[rel] {
			continue
		}
		seen[rel] = true
		live = append(live, rel)
		if !room || e.state != settling || now.Sub(e.since) < r.cfg.Settle || now.Before(e.retryAt) {
			continue
		}
		fi, err := os.Lstat(filepath.Join(r.root, rel))
		switch {
		case err != nil || !fi.Mode().IsRegular():
			delete(r.pending, rel)
			live = live[:len(live)-1]
			continue
		case fi.Size() != e.size || !fi.ModTime().Equal(e.mtime):
			e.size, e.mtime, e.since = fi.Size(), fi.ModTime(), now
			continue
		case r.mayBeActiveOutput(rel):
			continue
		case r.handled(rel, fi) || r.isOutput(rel):
			delete(r.pending, rel)
			live = live[:len(live)-1]
			continue
		}
		select {
		case r.jobs <- task{root: r.root, rel: rel, fi: fi}:
			e.state, e.dirty = queued, false
		default:
			room = false
		}
	}
	clear(r.order[len(live):])
	r.order = live
	if r.full && len(r.pending) < r.cfg.MaxPending/2 {
		r.scan(r.root)
	}
	r.counts()
}

// finish applies a worker's result.
func (r *runner) finish(res result) {
	e := r.pending[res.rel]
	again := e != nil && e.dirty
	switch res.kind {
	case resDone:
		r.w.update(func(s *Stats) { s.Done++ })
		r.w.log(Activity{Kind: KindDone, Path: res.rel, Output: res.output})
	case resFailed:
		r.w.update(func(s *Stats) { s.Failed++ })
		r.w.log(Activity{Kind: KindFailed, Path: res.rel, Message: res.err.Error()})
	case resSkipped:
		r.w.update(func(s *Stats) { s.Skipped++ })
	case resChanged, resAbandoned:
		again = true
	case resRetry:
		again = true
		if e != nil {
			e.retries++
			e.retryAt = time.Now().Add(min(time.Second<<min(e.retries, 6), time.Minute))
		}
		r.w.log(Activity{Kind: KindProblem, Path: res.rel, Message: res.err.Error() + "; will try again"})
	}
	if res.moved != "" {
		r.w.log(Activity{Kind: KindMoved, Path: res.rel, Output: res.moved})
	} else if res.kind != resFailed && res.err != nil && res.kind != resRetry {
		r.w.log(Activity{Kind: KindProblem, Path: res.rel, Message: res.err.Error()})
	}
	if e != nil {
		if again && res.kind != resVanished {
			e.state, e.dirty, e.since = settling, false, time.Now()
		} else {
			delete(r.pending, res.rel)
		}
	}
	r.counts()
}

// counts publishes Waiting and Busy.
func (r *runner) counts() {
	busy := 0
	for _, e := range r.pending {
		if e.state != settling {
			busy++
		}
	}
	r.w.update(func(s *Stats) { s.Waiting, s.Busy = len(r.pending)-busy, busy })
}

// errText is an error's reason without the path its message may repeat.
func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
