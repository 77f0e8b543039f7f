package watch

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"cutout/internal/quote"
)

// staleTemp is the age past which a leftover ".cutout-*.tmp" in OUT is a killed writer's:
// a live one is renamed within milliseconds of its creation.
const staleTemp = 10 * time.Second

// entry is a file between its arrival and its outcome.
type entry struct {
	rel     string
	fi      os.FileInfo // the version last seen
	since   time.Time   // when this version was first seen
	state   entryState
	dirty   bool // an event came while it was queued or running
	redo    bool // it changed while it was handled: hash it even if the journal's stat matches
	retries int  // failures in a row that were not its fault
	retryAt time.Time
	// output is the name claimed for its result, relative to OUT (see runner.claim).
	output string
	// young: a failure of this version was put down to its being incomplete (Config.Grace);
	// the same content failing again is final, with youngErr, without running it again.
	young     bool
	youngHash string
	youngErr  error
}

type entryState int

const (
	settling entryState = iota
	queued
	running
)

// newVersion notes that the file changed: it settles again, and a failure of the earlier
// version says nothing about this one.
func (e *entry) newVersion(fi os.FileInfo, now time.Time) {
	e.fi, e.since = fi, now
	if e.young {
		e.young, e.youngHash, e.youngErr, e.retryAt = false, "", nil, time.Time{}
	}
}

// task is an entry handed to a worker: the root it was found under, the version taken and
// the output decided for it.
type task struct {
	root, rel string
	fi        os.FileInfo
	output    string
	replace   bool
	young     bool
	youngHash string
	youngErr  error
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
	resYoung     // it failed, but changed too recently to be complete: wait (Config.Grace)
	resGaveUp    // a Once run gave up on it: its trouble was not its fault and did not end
	resStop      // the journal was taken over by another Cutout: the watch stops
)

type result struct {
	rel    string
	kind   resultKind
	fi     os.FileInfo // the version the task took
	hash   string
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

	counting bool  // the first scan of a Once run: count what is already done or failed
	scanned  bool  // In was scanned at least once
	fatal    error // the watch cannot go on (the journal was taken over)

	wait journalWait // shared by the workers: the journal cannot be written

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
	r.wait.out = c.Out
	if j.Skipped > 0 {
		w.log(Activity{Kind: KindProblem, Message: fmt.Sprintf("the journal %s had %d damaged lines; they were skipped", quote.Name(filepath.Join(c.Out, JournalName)), j.Skipped)})
	}
	for _, a := range j.Adopted {
		w.log(Activity{Kind: KindDone, Path: a.Path, Output: a.Detail, Message: "written before an interruption; recorded now"})
	}
	return r, nil
}

// loop runs the watch until ctx ends, or (Once) until what In held is handled. It returns
// why it could not go on, if it had to stop.
func (r *runner) loop(ctx context.Context) error {
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
	if r.cfg.Rescan > 0 && !r.cfg.Once {
		t := time.NewTicker(r.cfg.Rescan)
		defer t.Stop()
		rescan = t.C
	}
	sweepTemps(r.cfg.Out, staleTemp)
	r.checkRoot()
	for {
		if r.fatal != nil {
			return r.fatal
		}
		if r.cfg.Once {
			if r.root == "" {
				return errors.New(r.problem)
			}
			// Drained: nothing settling, waiting, queued or running, and nothing left
			// unlisted by a full pending set.
			if len(r.pending) == 0 && !r.full {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return nil
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
		if errors.Is(err, ErrInUse) {
			r.fatal = err
		}
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
	r.counting = r.cfg.Once && !r.scanned
	r.scan(root)
	r.counting, r.scanned = false, true
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
			r.forget(rel)
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
