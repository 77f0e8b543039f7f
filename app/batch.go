package app

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"cutout/engine/infer"
	"cutout/engine/matte"
	"cutout/engine/validate"
	"cutout/engine/ycc"
)

// Job is one input file and where its result goes, relative to the output folder.
type Job struct {
	Path string
	Rel  string
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
	// Roots are the folders symbolic links may lead into (the folders the user named).
	Roots  []string
	Matte  matte.Options
	Sink   *Sink
	OutDir string
	// Workers is how many jobs are in flight at once: 2 lets one image be read, decoded and
	// encoded while another is in the model.
	Workers int
}

// Run processes every job from jobs and reports each outcome to done (from worker
// goroutines, one call per job). It returns when jobs is closed and drained or ctx ends;
// jobs not started when ctx ends are reported as cancelled.
func (p *Processor) Run(ctx context.Context, jobs <-chan Job, done func(Outcome)) {
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
				done(p.Process(ctx, j))
			}
		}()
	}
	wg.Wait()
}

// Process runs one job to its end.
func (p *Processor) Process(ctx context.Context, j Job) Outcome {
	o := Outcome{Job: j}
	t0 := time.Now()
	_, data, err := validate.File(j.Path, p.Limits, p.Roots...)
	o.Times.Read = time.Since(t0)
	if err != nil {
		o.Err = err
		return o
	}
	r, err := p.Engine.Cut(ctx, j.Path, data)
	data = nil
	if err != nil {
		o.Err = err
		return o
	}
	big := r.Mask.Rect.Dx()*r.Mask.Rect.Dy() >= infer.BigResult
	o.Times.Decode = r.Timings.Decode
	o.Times.Preprocess = r.Timings.Preprocess
	o.Times.Inference = r.Timings.Inference
	o.Times.Postprocess = r.Timings.Postprocess
	t1 := time.Now()
	var encode func(w io.Writer) error
	if r.YCbCr != nil && !p.Matte.NeedsImage() && p.Matte.Background != matte.BackgroundMask {
		// A JPEG is composited from its Y′CbCr planes row by row as the PNG encoder takes
		// the rows: only the visible pixels are converted, and the full-size RGBA image
		// (96 MB at 24 MP) is never made.
		b := r.YCbCr.Rect
		row, ferr := matte.FinishedRows(b, ycc.Rows(r.YCbCr), r.Mask, nil, p.Matte)
		err = ferr
		encode = func(w io.Writer) error {
			return p.Sink.EncodePNGRows(w, b.Dx(), b.Dy(), func(y int, scratch []byte) []byte {
				row(y, scratch)
				return scratch
			})
		}
	} else {
		var out *image.NRGBA
		out, err = matte.FinishInPlace(r.NRGBA(), r.Mask, nil, p.Matte) // the image is ours alone
		encode = func(w io.Writer) error {
			var img image.Image = out
			if p.Matte.Background == matte.BackgroundMask {
				img = grayOf(out)
			}
			return p.Sink.EncodePNG(w, img)
		}
	}
	o.Times.Finish = time.Since(t1)
	if err != nil {
		o.Err = fmt.Errorf("%s: finishing the cut-out failed: %w", filepath.Base(j.Path), err)
		return o
	}
	if err := ctx.Err(); err != nil {
		o.Err = context.Cause(ctx)
		return o
	}
	// The PNG streams into its temporary file as it is encoded.
	out, enc, write, err := p.Sink.WritePNG(p.OutDir, j.Rel, encode)
	o.Times.Encode, o.Times.Write = enc, write
	var ee *EncodeError
	switch {
	case errors.As(err, &ee):
		o.Err = fmt.Errorf("%s: encoding the PNG failed: %w", filepath.Base(j.Path), ee.Err)
	case err != nil:
		o.Err = fmt.Errorf("%s: writing the result into %s failed: %w", filepath.Base(j.Path), p.OutDir, err)
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

// grayOf keeps one channel of an opaque grey NRGBA image, so masks are written as 8-bit grey.
func grayOf(img *image.NRGBA) *image.Gray {
	g := image.NewGray(img.Rect)
	for i := range g.Pix {
		g.Pix[i] = img.Pix[4*i]
	}
	return g
}

// knownExtension reports whether name ends in an extension of a supported format.
func knownExtension(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return ext != "" && slices.Contains(validate.Extensions(), ext)
}

// ErrCancelled is the cause used when the user stops a batch.
var ErrCancelled = errors.New("cancelled")

// CollectJobs expands files and folders (recursively) into jobs: a file named directly goes
// to OUT/name.png, a file found in a folder to OUT/<path inside that folder>.png. Folders'
// hidden entries and files whose extension no supported format uses are skipped; anything
// named directly is kept, so that validation explains why it is refused.
func CollectJobs(args []string) ([]Job, []error) {
	var jobs []Job
	var errs []error
	for _, a := range args {
		fi, err := os.Stat(a)
		if err != nil || !fi.IsDir() {
			jobs = append(jobs, Job{Path: a, Rel: filepath.Base(a)})
			continue
		}
		err = filepath.WalkDir(a, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				errs = append(errs, err)
				return nil
			}
			name := d.Name()
			if path != a && len(name) > 0 && name[0] == '.' {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.IsDir() || !knownExtension(name) {
				return nil
			}
			rel, err := filepath.Rel(a, path)
			if err != nil {
				return err
			}
			jobs = append(jobs, Job{Path: path, Rel: rel})
			return nil
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	return jobs, errs
}
