package app

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"cutout/engine/infer"
	"cutout/engine/matte"
	"cutout/engine/validate"
	"cutout/internal/quote"
)

// Job is one input file and where its result goes, relative to the output folder.
type Job struct {
	// Path is the input as the user knows it: named, or found in a folder they named.
	Path string
	// Rel is where the result goes, relative to the output folder (with .png for its
	// extension).
	Rel string
	// Root and In say where a file found in a named folder is opened: In, a relative path,
	// beneath the folder Root, with no link below Root followed. Without Root, Path is a
	// file the user named, opened as validate.File opens it (its links followed).
	Root, In string
	// Data, when set, is the input's content, already read (and hashed) by the caller: it is
	// validated and processed as it is, and the file is not opened again.
	Data []byte
	// Replace lets the result replace a file at Rel: that file is this input's own earlier
	// output. Otherwise a taken name gets " (1)", " (2)", … and nothing is replaced.
	Replace bool
}

// StageTimes are the wall-clock durations of one job's stages.
type StageTimes struct {
	Read, Decode, Preprocess, Inference, Postprocess, Finish, Encode, Write time.Duration
}

// Outcome is how a job ended: Output is set when it was written, Err when it failed.
type Outcome struct {
	Job    Job
	Output string
	Err    error
	Times  StageTimes
}

// Processor runs jobs through validation, the engine, finishing and the sink.
type Processor struct {
	Engine Engine
	Limits validate.Limits
	// Roots are folders the user named, for jobs without a Root of their own: a Path
	// inside one is opened beneath it (see validate.File).
	Roots []string
	Matte matte.Options
	// Output is the file format written (PNG when zero).
	Output Output
	Sink   *Sink
	OutDir string
	// Workers is how many jobs are in flight at once: 2 lets one image be read, decoded and
	// encoded while another is in the model.
	Workers int
	// Space, when set, makes a result that does not fit on the disk wait for room instead
	// of failing (see diskWait).
	Space *diskWait
}

// Run processes every job from jobs with process (Processor.Process, or a caller's step
// around it) and reports each outcome to done (from worker goroutines, one call per job). It
// returns when jobs is closed and drained or ctx ends; jobs not started when ctx ends are
// reported as cancelled.
func (p *Processor) Run(ctx context.Context, jobs <-chan Job, process func(context.Context, Job) Outcome, done func(Outcome)) {
	n := p.Workers
	if n <= 0 {
		n = 2
	}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if ctx.Err() != nil {
					done(Outcome{Job: j, Err: context.Cause(ctx)})
					continue
				}
				done(process(ctx, j))
			}
		}()
	}
	wg.Wait()
}

// Process runs one job to its end.
func (p *Processor) Process(ctx context.Context, j Job) Outcome {
	o := Outcome{Job: j}
	t0 := time.Now()
	data := j.Data
	var err error
	switch {
	case data != nil:
		_, err = validate.Bytes(j.Path, data, p.Limits)
	case j.Root != "":
		_, data, err = validate.FileIn(j.Path, j.Root, j.In, p.Limits)
	default:
		_, data, err = validate.File(j.Path, p.Limits, p.Roots...)
	}
	o.Times.Read = time.Since(t0)
	if err != nil {
		o.Err = err
		return o
	}
	r, err := p.Engine.Cut(ctx, j.Path, data)
	data = nil
	if err != nil {
		o.Err = fromEngine(j.Path, err)
		return o
	}
	big := r.Mask.Rect.Dx()*r.Mask.Rect.Dy() >= infer.BigResult
	o.Times.Decode = r.Timings.Decode
	o.Times.Preprocess = r.Timings.Preprocess
	o.Times.Inference = r.Timings.Inference
	o.Times.Postprocess = r.Timings.Postprocess
	t1 := time.Now()
	var img image.Image = r.Image
	if r.YCbCr != nil {
		img = r.YCbCr
	}
	encode, err := finishedImage(p.Sink, img, r.Mask, nil, p.Matte, p.Output, true) // the result is ours alone
	o.Times.Finish = time.Since(t1)
	if err != nil {
		o.Err = fmt.Errorf("%s: finishing the cut-out failed: %w", quote.Name(filepath.Base(j.Path)), err)
		return o
	}
	if err := ctx.Err(); err != nil {
		o.Err = context.Cause(ctx)
		return o
	}
	// The PNG streams into its temporary file as it is encoded. On a full disk the finished
	// image is kept and written again once there is room (when Space is set): the model is
	// the expensive part, and running it again would change nothing.
	var out string
	var enc, write time.Duration
	for attempt := 0; ; attempt++ {
		out, enc, write, err = p.Sink.WriteImage(p.OutDir, j.Rel, p.Output.Ext(), j.Replace, encode)
		if err == nil {
			p.Space.recovered()
		}
		if err == nil || !diskFull(err) || p.Space == nil || p.Space.wait(ctx, err, attempt) != nil {
			break
		}
	}
	o.Times.Encode, o.Times.Write = enc, write
	var ee *EncodeError
	switch {
	case errors.As(err, &ee):
		o.Err = fmt.Errorf("%s: encoding the %s failed: %w", quote.Name(filepath.Base(j.Path)), strings.ToUpper(p.Output.Ext()[1:]), ee.Err)
	case err != nil:
		o.Err = &writeError{name: filepath.Base(j.Path), dir: p.OutDir, err: err}
	default:
		o.Output = out
	}
	if big {
		// The result (60 MB at 24 MP) is garbage now: collect it before the next one comes,
		// so that it lands in these pages instead of fresh ones. Measured at 24 MP: the app's
		// peak 250 → 157 MB; a collection of this pointer-free heap takes about a millisecond.
		runtime.GC()
	}
	return o
}

// ErrCancelled is the cause used when the user stops a batch.
var ErrCancelled = errors.New("cancelled")

// engineFailure is an error of the engine, made safe to print. The engine decodes hostile
// files and may be compromised, so its message — which came through the protocol — is
// escaped, and the file is named by the app, quoted.
type engineFailure struct {
	msg string
	err error
}

func (e *engineFailure) Error() string { return e.msg }
func (e *engineFailure) Unwrap() error { return e.err }

// fromEngine wraps an error of Engine.Cut for the file at path (see engineFailure). The
// supervisor's "name: " prefix is replaced by the quoted name; a message that names the
// file quoted already (a refusal) keeps its own wording.
func fromEngine(path string, err error) error {
	var ef *engineFailure
	if errors.As(err, &ef) || errors.Is(err, context.Canceled) || errors.Is(err, ErrCancelled) {
		return err
	}
	base := filepath.Base(path)
	msg := quote.Text(strings.TrimPrefix(err.Error(), base+": "))
	if name := quote.Name(base); !strings.Contains(msg, name) {
		msg = name + ": " + msg
	}
	return &engineFailure{msg: msg, err: err}
}

// writeError is a result that could not be written into the output folder.
type writeError struct {
	name, dir string
	err       error
}

func (e *writeError) Error() string {
	reason := systemReason(e.err)
	if errors.Is(e.err, syscall.ELOOP) {
		reason = "a link inside the output folder is in the way, and links there are never followed"
	}
	return fmt.Sprintf("%s: writing the result into %s failed: %s", quote.Name(e.name), quote.Name(e.dir), quote.Text(reason))
}
func (e *writeError) Unwrap() error { return e.err }

// systemReason is the system's reason of an error on a path, with the full path left out
// when the error is the os package's (the sentence around it names the file); anything else
// is the error's own message.
func systemReason(err error) string {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		return pe.Err.Error()
	case errors.As(err, &le):
		return le.Err.Error()
	}
	return err.Error()
}
