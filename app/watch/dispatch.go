package watch

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// onceAttempts bounds, in a Once run, how often an input is tried when its failures are not
// its fault (the engine cannot start, the disk is full): past it the run gives up on it.
const onceAttempts = 5

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
		if err != nil || !fi.Mode().IsRegular() {
			r.forget(rel)
			live = live[:len(live)-1]
			continue
		}
		if !sameVersion(fi, e.fi) {
			e.newVersion(fi, now)
			continue
		}
		if r.mayBeActiveOutput(rel) {
			continue
		}
		if _, done := r.handled(rel, fi); (done && !e.redo) || r.isOutput(rel) {
			r.forget(rel)
			live = live[:len(live)-1]
			continue
		}
		output, replace := r.claim(e)
		t := task{root: r.root, rel: rel, fi: fi, output: output, replace: replace,
			young: e.young, youngHash: e.youngHash, youngErr: e.youngErr}
		select {
		case r.jobs <- t:
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

// claim decides (again) the output name of e, relative to OUT, and claims it so that no
// other input takes it while e is pending: an input that the journal has a done output for
// keeps that name, replacing its own earlier output when it is still there; any other gets
// the first of outputName(rel, ext, 0), (1), … that no other input owns or has claimed and
// that is not a file in OUT. Claimed on arrival, it is claimed again as the work starts, so
// a file that appeared there meanwhile moves it on to the next free name.
//
// With Move, an earlier output is never replaced: its original was moved to IN/.cutout-done,
// so a file arriving under the same name is another picture (cameras reuse names), and both
// results are kept; the Handler then writes beside it, with " (N)".
func (r *runner) claim(e *entry) (name string, replace bool) {
	name, replace = r.j.Claim(e.rel, outputName(e.rel, r.cfg.OutputExt, 0), r.taken)
	if e.output != "" && e.output != name {
		r.j.Release(e.output, e.rel)
	}
	e.output = name
	return name, replace && r.cfg.Originals != Move
}

// taken reports whether name (relative to OUT) is a file or folder there.
func (r *runner) taken(name string) bool {
	_, err := os.Lstat(filepath.Join(r.out, name))
	return err == nil
}

// forget drops rel's entry and releases its claim.
func (r *runner) forget(rel string) {
	if e := r.pending[rel]; e != nil && e.output != "" {
		r.j.Release(e.output, rel)
	}
	delete(r.pending, rel)
}

// finish applies a worker's result.
func (r *runner) finish(res result) {
	e := r.pending[res.rel]
	again := e != nil && e.dirty // it changed while it was handled
	keep := false                // it is tried again, whatever happened meanwhile
	now := time.Now()
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
		keep = true
	case resRetry:
		keep = r.retry(e, res)
	case resYoung:
		keep = true
		if e != nil {
			// Until it has not changed for the grace period, a failure may be a file still
			// being written (a slow network copy); then the same content failing is final.
			age := max(now.Sub(res.fi.ModTime()), 0)
			wait := max(r.cfg.Grace-age, 0)
			e.young, e.youngHash, e.youngErr, e.retryAt = true, res.hash, res.err, now.Add(wait)
			ago := "less than a second ago"
			if age >= time.Second {
				ago = seconds(age) + " ago"
			}
			r.w.log(Activity{Kind: KindInfo, Path: res.rel, Message: fmt.Sprintf("%s; it changed %s and may still be being written: trying again once it has not changed for %s",
				res.err.Error(), ago, seconds(r.cfg.Grace))})
		}
	case resGaveUp:
		r.w.update(func(s *Stats) { s.Unfinished++ })
		r.w.log(Activity{Kind: KindProblem, Path: res.rel, Message: res.err.Error() + "; given up for this run"})
	case resStop:
		r.fatal = res.err
	}
	if res.moved != "" {
		r.w.log(Activity{Kind: KindMoved, Path: res.rel, Output: res.moved})
	} else if res.err != nil && (res.kind == resDone || res.kind == resSkipped) {
		r.w.log(Activity{Kind: KindProblem, Path: res.rel, Message: res.err.Error()})
	}
	if e == nil {
		r.counts()
		return
	}
	if (keep || again) && res.kind != resVanished && res.kind != resGaveUp && res.kind != resStop {
		// An outcome was recorded for the version taken, and it changed since: the new
		// version may match the journal's size and time, so it is hashed whatever they say.
		e.redo = e.redo || (again && !keep)
		e.state, e.dirty, e.since = settling, false, now
	} else {
		r.forget(res.rel)
	}
	r.counts()
}

// retry schedules the next attempt of an input whose failure was not its fault, and reports
// whether there is one (a Once run gives up after onceAttempts).
func (r *runner) retry(e *entry, res result) bool {
	if e == nil {
		return false
	}
	e.retries++
	if r.cfg.Once && e.retries >= onceAttempts {
		r.w.update(func(s *Stats) { s.Unfinished++ })
		r.w.log(Activity{Kind: KindProblem, Path: res.rel, Message: fmt.Sprintf("%s; given up for this run after %d attempts (not the file's fault: no failure note)", res.err.Error(), e.retries)})
		return false
	}
	wait := r.w.backoff(e.retries, time.Minute)
	e.retryAt = time.Now().Add(wait)
	r.w.log(Activity{Kind: KindProblem, Path: res.rel, Message: fmt.Sprintf("%s; will try again in %s", res.err.Error(), seconds(wait))})
	return true
}

// seconds spells d in whole seconds ("30s"), at least one.
func seconds(d time.Duration) string {
	return fmt.Sprintf("%ds", max(int64((d+time.Second/2)/time.Second), 1))
}
