package watch

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"cutout/internal/beneath"
	"cutout/internal/quote"
)

// worker handles tasks until the jobs channel closes.
func (r *runner) worker(ctx context.Context) {
	defer r.wg.Done()
	for t := range r.jobs {
		if ctx.Err() != nil {
			r.results <- result{rel: t.rel, fi: t.fi, kind: resAbandoned}
			continue
		}
		r.results <- r.work(ctx, t)
	}
}

// work takes one settled file: reads it whole (hashing it), skips it when the journal has
// this content already, otherwise records the start, hands the bytes read to the Handler
// and records the outcome (and moves the original, if asked).
func (r *runner) work(ctx context.Context, t task) result {
	res := result{rel: t.rel, fi: t.fi}
	abs := filepath.Join(t.root, t.rel)
	var data []byte
	if t.fi.Size() <= r.cfg.MaxHash {
		r.w.reads.Add(1)
		h, d, err := hashFile(t.root, t.rel, t.fi)
		switch {
		case errors.Is(err, errChanged):
			res.kind = resChanged
			return res
		case errors.Is(err, fs.ErrNotExist):
			res.kind = resVanished
			return res
		case errors.Is(err, errEscaped):
			return r.failed(ctx, t, abs, Record{Time: time.Now(), Size: t.fi.Size(), ModTime: t.fi.ModTime(), Path: t.rel},
				fmt.Errorf("%s %w", quote.Name(t.rel), errEscaped))
		case err != nil:
			res.kind, res.err = resRetry, fmt.Errorf("%s cannot be read whole: %s", quote.Name(t.rel), quote.Text(errText(err)))
			return res
		}
		res.hash, data = h, d
	}
	if e, ok := r.j.Lookup(t.rel); ok && e.Outcome.Op != "" && res.hash != "" && e.Outcome.Hash == res.hash {
		return r.sameContent(ctx, t, abs, e.Outcome)
	}
	rec := Record{Op: OpStart, Time: time.Now(), Size: t.fi.Size(), ModTime: t.fi.ModTime(), Hash: res.hash, Path: t.rel}
	if t.young && res.hash != "" && res.hash == t.youngHash {
		// The content that failed while it looked incomplete, unchanged for the grace
		// period since: the failure stands, without running it again.
		return r.failed(ctx, t, abs, rec, t.youngErr)
	}
	if err := r.record(ctx, rec); err != nil {
		return r.unrecorded(ctx, res, err, "")
	}
	out, err := r.cfg.Handler(ctx, Job{Path: abs, Root: t.root, Rel: t.rel, Size: t.fi.Size(), Hash: res.hash, Data: data,
		Output: t.output, Replace: t.replace})
	switch {
	case err != nil && ctx.Err() != nil:
		res.kind = resAbandoned
		return res
	case errors.Is(err, ErrRetry):
		res.kind, res.err = resRetry, err
		return res
	case err != nil && !t.young && r.cfg.Grace > 0 && time.Since(t.fi.ModTime()) < r.cfg.Grace:
		res.kind, res.err = resYoung, err
		return res
	case err != nil:
		return r.failed(ctx, t, abs, rec, err)
	}
	// The Handler may have written beside Output (a file appeared there meanwhile): what it
	// wrote is what is recorded.
	rel, ok := inside(r.cfg.Out, absPath(out))
	if !ok {
		rel = out
	}
	rec.Op, rec.Time, rec.Detail = OpDone, time.Now(), rel
	// The output is written: until the record is, it is kept and the record retried (on a
	// full disk, until there is space); the model is never run again for it.
	if err := r.record(ctx, rec); err != nil {
		return r.unrecorded(ctx, res, err, rel)
	}
	res.kind, res.output = resDone, rel
	removeBeneath(r.cfg.Out, r.failureNote(t.rel))
	res.moved, res.err = r.moveOriginal(ctx, t, abs)
	return res
}

// unrecorded is the result of a task whose journal record could not be written (see
// runner.record); output is what it wrote, if anything.
func (r *runner) unrecorded(ctx context.Context, res result, err error, output string) result {
	switch {
	case errors.Is(err, ErrInUse):
		res.kind, res.err = resStop, err
	case ctx.Err() != nil:
		// Stopping: an output already written is adopted when the watch next starts.
		res.kind = resAbandoned
	case output != "":
		res.kind, res.err = resGaveUp, fmt.Errorf("%s was cut out into %s, but the journal could not record it (%s); it is recorded when the watch next starts",
			quote.Name(res.rel), quote.Name(output), errText(err))
	default:
		res.kind, res.err = resGaveUp, fmt.Errorf("%s: the journal could not record its start (%s)", quote.Name(res.rel), errText(err))
	}
	return res
}

// sameContent handles a file whose content the journal already has an outcome for (it was
// touched, or copied again with a new time or the same one): the outcome is recorded again
// with the file's stat when that tells the file apart from the record (new size or time, or
// a status change after it, see runner.handled), so it is not read again; a done original is
// moved if asked.
func (r *runner) sameContent(ctx context.Context, t task, abs string, prev Record) result {
	res := result{rel: t.rel, fi: t.fi, hash: prev.Hash, kind: resSkipped}
	if !prev.sameStat(t.fi.Size(), t.fi.ModTime()) || changedAfter(t.fi, prev.Time.Add(-ctimeSlack)) {
		prev.Time, prev.Size, prev.ModTime = time.Now(), t.fi.Size(), t.fi.ModTime()
		if err := r.record(ctx, prev); err != nil {
			return r.unrecorded(ctx, res, err, "")
		}
	}
	if prev.Op == OpDone {
		res.moved, res.err = r.moveOriginal(ctx, t, abs)
	}
	return res
}

// failed records a failure and writes its note in OUT/.cutout-failed.
func (r *runner) failed(ctx context.Context, t task, abs string, rec Record, err error) result {
	res := result{rel: t.rel, fi: t.fi, hash: rec.Hash, kind: resFailed, err: err}
	rec.Op, rec.Time, rec.Detail = OpFailed, time.Now(), err.Error()
	if jerr := r.record(ctx, rec); jerr != nil {
		return r.unrecorded(ctx, res, jerr, "")
	}
	// The note names the file quoted and the reason escaped: it is read in terminals and
	// editors, where a name's escapes or newlines would act or forge lines.
	note := fmt.Sprintf("%s could not be cut out.\n\nReason: %s\n\nInput:   %s\nSize:    %d bytes\nModified: %s\nSHA-256: %s\nWhen:    %s\n\n"+
		"The original was left in place. It will be tried again when its content changes.\n",
		quote.Name(filepath.Base(t.rel)), quote.Text(err.Error()), quote.Name(abs), rec.Size, rec.ModTime.Format(time.RFC3339), orDash(rec.Hash), rec.Time.Format(time.RFC3339))
	if werr := writeReplacing(r.cfg.Out, r.failureNote(t.rel), []byte(note)); werr != nil {
		r.w.log(Activity{Kind: KindProblem, Path: t.rel, Message: fmt.Sprintf("cannot write the failure note: %s", errText(werr))})
	}
	return res
}

// failureNote is where the reason for rel's failure is written, relative to OUT: rel's
// name with ".txt", shortened to fit the limit on names.
func (r *runner) failureNote(rel string) string {
	return filepath.Join(failedDir, filepath.Dir(rel), beneath.Numbered(filepath.Base(rel)+".txt", 0))
}

// moveOriginal moves a done input to IN/.cutout-done/<rel> when asked, if it is still the
// version that was handled.
func (r *runner) moveOriginal(ctx context.Context, t task, abs string) (string, error) {
	if r.cfg.Originals != Move {
		return "", nil
	}
	if fi, err := os.Lstat(abs); err != nil || !fi.Mode().IsRegular() || !sameVersion(fi, t.fi) {
		return "", nil // gone or changed: a new version is handled on its own
	}
	rel, err := beneath.Move(t.root, t.rel, t.root, filepath.Join(doneDir, t.rel))
	if err != nil {
		return "", fmt.Errorf("%s: cut out, but moving the original to %s failed: %s", quote.Name(t.rel), doneDir, errText(err))
	}
	rec := Record{Op: OpMoved, Time: time.Now(), Size: t.fi.Size(), ModTime: t.fi.ModTime(), Path: t.rel, Detail: rel}
	if err := r.record(ctx, rec); err != nil {
		return rel, err
	}
	return rel, nil
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}
