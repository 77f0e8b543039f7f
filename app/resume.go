package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"cutout/app/watch"
	"cutout/engine/infer"
	"cutout/engine/matte"
	"cutout/engine/models"
	"cutout/engine/validate"
	"cutout/internal/quote"
)

// batchJournal makes `cutout remove` resumable with the journal `cutout watch` keeps: each
// input is recorded in OUT by its absolute path with the SHA-256 of the bytes that were cut
// out and a fingerprint of the settings, so a rerun skips what is done and unchanged, redoes
// a changed input into the output that belongs to it, and never writes a second copy.
type batchJournal struct {
	j        *watch.Journal
	out      string
	settings string
	force    bool
	space    *diskWait
	ext      string // the output format's extension
}

// settingsFingerprint identifies what shapes an output's pixels: the model (by its checksum,
// so a new version of a model counts as a change; a user's unverified model by its path) and
// the finishing options and the output format (a new quality is a new file). The PNG
// compression level changes only the file's size.
func settingsFingerprint(m *models.Model, mo matte.Options, out Output) string {
	id := m.SHA256
	if m.Unverified || id == "" {
		id = m.Path
	}
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%+v\x00%s", id, mo, out.fingerprint()))
	return hex.EncodeToString(sum[:8])
}

// journalKey is how the journal knows a job's input: its absolute path, as opened.
func journalKey(j Job) string {
	if j.Root != "" {
		return filepath.Join(j.Root, j.In)
	}
	if abs, err := filepath.Abs(j.Path); err == nil {
		return abs
	}
	return j.Path
}

// assignNames decides every job's output name before any work starts, so that the same
// inputs always get the same names whatever finishes first: an input keeps the output its
// last run wrote (replaced in place when it is redone); the others claim names in the order
// of their paths inside OUT, then of the inputs' own paths, so "a.jpg" gets "a.png" and
// "a.png" gets "a (1).png". A file in OUT that Cutout did not write for that input is never
// replaced (unless overwrite): the name after it is used.
func (b *batchJournal) assignNames(jobs []Job, overwrite bool) {
	slices.SortStableFunc(jobs, func(x, y Job) int {
		if c := strings.Compare(outputBase(x.Rel, b.ext), outputBase(y.Rel, b.ext)); c != 0 {
			return c
		}
		return strings.Compare(journalKey(x), journalKey(y))
	})
	taken := func(name string) bool {
		_, err := os.Lstat(filepath.Join(b.out, name))
		return err == nil && !overwrite
	}
	exists := func(name string) bool {
		_, err := os.Lstat(filepath.Join(b.out, name))
		return err == nil
	}
	// Inputs with an output of their own (in this format) claim it first, so a new input that
	// sorts before them cannot take it.
	var rest []int
	for i := range jobs {
		key := journalKey(jobs[i])
		if prev := b.j.LatestOutput(key); prev != "" && filepath.Ext(prev) == b.ext {
			jobs[i].Rel, jobs[i].Replace = b.j.Claim(key, prev, exists)
			continue
		}
		rest = append(rest, i)
	}
	for _, i := range rest {
		name, replace := b.j.Claim(journalKey(jobs[i]), outputBase(jobs[i].Rel, b.ext), taken)
		jobs[i].Rel, jobs[i].Replace = name, replace || overwrite
	}
}

// outputBase is the output path (relative to OUT) for an input path: its extension
// replaced by the output format's, ext.
func outputBase(rel, ext string) string {
	return strings.TrimSuffix(rel, filepath.Ext(rel)) + ext
}

// errSkipped marks a job whose input is done already with this content and these settings.
var errSkipped = errors.New("already done")

// process runs one job through p with the journal: the input is read once, its bytes hashed,
// and the job is skipped (errSkipped) when the journal has it done with this content and
// these settings and its output is still there; otherwise a start record, the work, and a
// done or failed record. A done record that cannot be written (a full disk) is retried until
// it is, or the batch is stopped: the output is written, and re-running the model for it
// would only make a second copy.
func (b *batchJournal) process(ctx context.Context, p *Processor, job Job) Outcome {
	key := journalKey(job)
	var data []byte
	var err error
	if job.Root != "" {
		_, data, err = validate.FileIn(job.Path, job.Root, job.In, p.Limits)
	} else {
		_, data, err = validate.File(job.Path, p.Limits, p.Roots...)
	}
	rec := watch.Record{Time: time.Now(), Path: key, Settings: b.settings}
	if fi, serr := os.Stat(job.Path); serr == nil {
		rec.ModTime = fi.ModTime()
	}
	if err != nil {
		b.j.Release(job.Rel, key)
		rec.Op, rec.Detail = watch.OpFailed, err.Error()
		b.recordFailure(ctx, rec)
		return Outcome{Job: job, Err: err}
	}
	sum := sha256.Sum256(data)
	rec.Size, rec.Hash = int64(len(data)), hex.EncodeToString(sum[:])
	if !b.force {
		if e, ok := b.j.Lookup(key); ok && e.Outcome.Op == watch.OpDone && e.Outcome.Hash == rec.Hash &&
			e.Outcome.Settings == b.settings && e.Outcome.Detail == job.Rel && regular(filepath.Join(b.out, job.Rel)) {
			return Outcome{Job: job, Output: filepath.Join(b.out, job.Rel), Err: errSkipped}
		}
	}
	rec.Op, rec.Detail = watch.OpStart, job.Rel // the name claimed: a killed run's output is adopted by it
	if err := b.record(ctx, rec); err != nil {
		b.j.Release(job.Rel, key)
		return Outcome{Job: job, Err: err}
	}
	job.Data = data
	o := p.Process(ctx, job)
	switch {
	case o.Err == nil:
		rel, rerr := filepath.Rel(b.out, o.Output)
		if rerr != nil {
			rel = o.Output
		}
		rec.Op, rec.Time, rec.Detail = watch.OpDone, time.Now(), rel
		if err := b.record(ctx, rec); err != nil {
			// Stopped while waiting for space: the output stays, the next run adopts it.
			o.Err = err
		}
	case ctx.Err() == nil:
		b.j.Release(job.Rel, key)
		rec.Op, rec.Time, rec.Detail = watch.OpFailed, time.Now(), o.Err.Error()
		b.recordFailure(ctx, rec)
	default:
		b.j.Release(job.Rel, key)
	}
	return o
}

// recordFailure records a failure unless the journal's last word on the input is this same
// failure of this same content: a rerun that changes nothing writes nothing.
func (b *batchJournal) recordFailure(ctx context.Context, rec watch.Record) {
	if e, ok := b.j.Lookup(rec.Path); ok && e.Started == nil && e.Outcome.Op == watch.OpFailed &&
		e.Outcome.Hash == rec.Hash && e.Outcome.Detail == rec.Detail && e.Outcome.Settings == rec.Settings {
		return
	}
	b.record(ctx, rec)
}

// record appends rec, waiting for space while the disk is full.
func (b *batchJournal) record(ctx context.Context, rec watch.Record) error {
	for attempt := 0; ; attempt++ {
		err := b.j.Append(rec)
		if err == nil || !diskFull(err) {
			b.space.recovered()
			return err
		}
		if werr := b.space.wait(ctx, err, attempt); werr != nil {
			return werr
		}
	}
}

// regular reports whether path is a regular file (not a link, not missing).
func regular(path string) bool {
	fi, err := os.Lstat(path)
	return err == nil && fi.Mode().IsRegular()
}

// sweepLeftovers removes the temporary files a killed run left in OUT (".cutout-*.tmp",
// older than a live writer's ever are). It is called with OUT's lock held.
func sweepLeftovers(out string) int {
	return watch.SweepTemps(out, 10*time.Second)
}

// inUseError says OUT is held by another running Cutout, in words.
func inUseError(out string) error {
	return fmt.Errorf("the output folder %s is in use by another running cutout (a watch, or a remove that has not finished); wait for it or choose another folder", quote.Name(out))
}

// errEngineDown stops a batch whose engine could not start.
var errEngineDown = errors.New("the engine could not start")

// lazyEngine starts its engine with the first Cut, so that a batch with nothing left to do
// loads no model.
type lazyEngine struct {
	start func() (Engine, error)
	once  sync.Once
	eng   Engine
	err   error
	down  atomic.Bool
}

func (l *lazyEngine) Cut(ctx context.Context, name string, data []byte) (*infer.Result, error) {
	l.once.Do(func() {
		l.eng, l.err = l.start()
		l.down.Store(l.err != nil)
	})
	if l.err != nil {
		return nil, l.err
	}
	return l.eng.Cut(ctx, name, data)
}

// failed reports whether the engine could not start.
func (l *lazyEngine) failed() bool { return l.down.Load() }

// startErr is why the engine could not start, nil if it did or was never needed.
func (l *lazyEngine) startErr() error {
	if !l.down.Load() {
		return nil
	}
	return l.err
}

func (l *lazyEngine) Close() error {
	if l.eng != nil {
		return l.eng.Close()
	}
	return nil
}
