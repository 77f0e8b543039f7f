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
			r.results <- result{rel: t.rel, kind: resAbandoned}
			continue
		}
		r.results <- r.work(ctx, t)
	}
}

// work takes one settled file: reads it whole to hash it, skips it when the journal has
// this content already, otherwise records the start, calls the Handler and records the
// outcome (and moves the original, if asked).
func (r *runner) work(ctx context.Context, t task) result {
	res := result{rel: t.rel}
	abs := filepath.Join(t.root, t.rel)
	hash := ""
	if t.fi.Size() <= r.cfg.MaxHash {
		h, err := hashFile(t.root, t.rel, t.fi)
		switch {
		case errors.Is(err, errChanged):
			res.kind = resChanged
			return res
		case errors.Is(err, fs.ErrNotExist):
			res.kind = resVanished
			return res
		case errors.Is(err, errEscaped):
			return r.failed(t, abs, Record{Time: time.Now(), Size: t.fi.Size(), ModTime: t.fi.ModTime(), Path: t.rel},
				fmt.Errorf("%s %w", quote.Name(t.rel), errEscaped))
		case err != nil:
			res.kind, res.err = resRetry, fmt.Errorf("%s cannot be read whole: %s", quote.Name(t.rel), quote.Text(errText(err)))
			return res
		}
		hash = h
	}
	if e, ok := r.j.Lookup(t.rel); ok && e.Outcome.Op != "" && hash != "" && e.Outcome.Hash == hash {
		return r.sameContent(t, abs, e.Outcome)
	}
	rec := Record{Op: OpStart, Time: time.Now(), Size: t.fi.Size(), ModTime: t.fi.ModTime(), Hash: hash, Path: t.rel}
	if err := r.j.Append(rec); err != nil {
		res.kind, res.err = resRetry, err
		return res
	}
	out, err := r.cfg.Handler(ctx, Job{Path: abs, Root: t.root, Rel: t.rel, Size: t.fi.Size(), Hash: hash, Output: outputName(t.rel, r.cfg.OutputExt, 0)})
	switch {
	case err != nil && ctx.Err() != nil:
		res.kind = resAbandoned
		return res
	case errors.Is(err, ErrRetry):
		res.kind, res.err = resRetry, err
		return res
	case err != nil:
		return r.failed(t, abs, rec, err)
	}
	rel, ok := inside(r.cfg.Out, absPath(out))
	if !ok {
		rel = out
	}
	rec.Op, rec.Time, rec.Detail = OpDone, time.Now(), rel
	if err := r.j.Append(rec); err != nil {
		// The output exists but is not recorded: the next start adopts it.
		res.kind, res.err = resRetry, err
		return res
	}
	res.kind, res.output = resDone, rel
	removeBeneath(r.cfg.Out, r.failureNote(t.rel))
	res.moved, res.err = r.moveOriginal(t, abs)
	return res
}

// sameContent handles a file whose content the journal already has an outcome for (it was
// touched, or copied again with a new time): the new time is recorded so it is not read
// again, and a done original is moved if asked.
func (r *runner) sameContent(t task, abs string, prev Record) result {
	res := result{rel: t.rel, kind: resSkipped}
	if !prev.sameStat(t.fi.Size(), t.fi.ModTime()) {
		prev.Time, prev.Size, prev.ModTime = time.Now(), t.fi.Size(), t.fi.ModTime()
		if err := r.j.Append(prev); err != nil {
			res.kind, res.err = resRetry, err
			return res
		}
	}
	if prev.Op == OpDone {
		res.moved, res.err = r.moveOriginal(t, abs)
	}
	return res
}

// failed records a failure and writes its note in OUT/.cutout-failed.
func (r *runner) failed(t task, abs string, rec Record, err error) result {
	res := result{rel: t.rel, kind: resFailed, err: err}
	rec.Op, rec.Time, rec.Detail = OpFailed, time.Now(), err.Error()
	if jerr := r.j.Append(rec); jerr != nil {
		res.kind, res.err = resRetry, jerr
		return res
	}
	// The note names the file quoted and the reason escaped: it is read in terminals and
	// editors, where a name's escapes or newlines would act or forge lines.
	note := fmt.Sprintf("%s could not be cut out.\n\nReason: %s\n\nInput:   %s\nSize:    %d bytes\nModified: %s\nSHA-256: %s\nWhen:    %s\n\n"+
		"The original was left in place. It will be tried again when the file changes.\n",
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
func (r *runner) moveOriginal(t task, abs string) (string, error) {
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
	if err := r.j.Append(rec); err != nil {
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
