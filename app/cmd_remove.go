package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"cutout/app/watch"
	"cutout/engine/models"
	"cutout/internal/quote"
)

func cmdRemove(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("remove", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "output folder (created if needed)")
	fs.StringVar(out, "output", "", "same as -o")
	overwrite := fs.Bool("overwrite", false, "replace files in OUT that Cutout did not write (its own earlier outputs are always replaced by a redo; inputs never are)")
	force := fs.Bool("force", false, "redo every input, also those the journal in OUT says are done and unchanged")
	engine := engineFlags(fs)
	opts := matteFlags(fs)
	output := outputFlags(fs)
	limits := limitFlags(fs)
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: cutout remove IN... -o OUTDIR [flags]\n\n"+
			"Cuts out each image file, and every image in each folder (recursively), into OUTDIR\n"+
			"as PNG (or WebP, JPEG: --format).\n"+
			"A journal in OUTDIR remembers what was done: run the same command again and only new or\n"+
			"changed inputs are done (a changed one replaces its own output).\n\nflags:\n")
		fs.PrintDefaults()
	}
	inputs, err := parseInterspersed(fs, args)
	if err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if len(inputs) == 0 || *out == "" {
		fs.Usage()
		return 2
	}
	mo, err := opts()
	if err != nil {
		fmt.Fprintln(stderr, "cutout remove:", err)
		return 2
	}
	outFmt, err := output()
	if err != nil {
		fmt.Fprintln(stderr, "cutout remove:", err)
		return 2
	}
	// A folder that cannot be read in part is a failure like a refused file: it is said at
	// once, counted, and listed again in the summary.
	jobs, walkErrs := CollectJobs(inputs)
	for _, e := range walkErrs {
		fmt.Fprintln(stderr, "cutout remove:", quote.Text(e.Error()))
	}
	if len(jobs) == 0 {
		fmt.Fprintln(stderr, "cutout remove: no images found in", quoteAll(inputs))
		return 1
	}
	lim := limits()
	cfg, level := engine(lim, stderr)
	model, err := cfg.Resolve()
	if err == nil && cfg.UnverifiedModel != "" {
		model = &models.Model{Path: cfg.UnverifiedModel, Unverified: true}
	}
	if err != nil {
		fmt.Fprintln(stderr, "cutout remove:", quote.Text(err.Error()))
		return 1
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintf(stderr, "cutout remove: cannot create the output folder %s: %s\n", quote.Name(*out), quote.Text(systemReason(err)))
		return 1
	}
	jr, err := watch.OpenJournal(*out, "", outFmt.Ext())
	if errors.Is(err, watch.ErrInUse) {
		err = inUseError(*out)
	}
	if err != nil {
		fmt.Fprintln(stderr, "cutout remove:", quote.Text(err.Error()))
		return 1
	}
	defer jr.Close()
	if jr.Skipped > 0 {
		fmt.Fprintf(stderr, "cutout remove: the journal in %s had %d damaged lines; they were skipped\n", quote.Name(*out), jr.Skipped)
	}
	if n := sweepLeftovers(*out); n > 0 {
		fmt.Fprintf(stderr, "cutout remove: removed %d temporary files an interrupted run left in %s\n", n, quote.Name(*out))
	}

	var say sync.Mutex
	space := &diskWait{Say: func(msg string) {
		say.Lock()
		defer say.Unlock()
		fmt.Fprintln(stderr, "cutout remove:", msg)
	}}
	// The engine starts with the first input that needs it: a rerun with nothing to do
	// loads no model.
	eng := &lazyEngine{start: func() (Engine, error) { return NewEngine(context.Background(), cfg) }}
	defer eng.Close()
	if err := outFmt.loadBackground(context.Background(), eng, lim); err != nil {
		fmt.Fprintln(stderr, "cutout remove:", quote.Text(err.Error()))
		return 1
	}
	b := &batchJournal{j: jr, out: *out, settings: settingsFingerprint(model, mo, outFmt), force: *force, space: space, ext: outFmt.Ext()}
	b.assignNames(jobs, *overwrite)

	sink := &Sink{Compression: level}
	for _, j := range jobs {
		if fi, err := os.Stat(j.Path); err == nil {
			sink.Protect = append(sink.Protect, fi)
		}
	}
	p := &Processor{Engine: eng, Limits: lim, Matte: mo, Output: outFmt, Sink: sink, OutDir: *out, Workers: 2, Space: space}

	sig, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithCancelCause(sig)
	defer cancel(nil)
	queue := make(chan Job, 4)
	go func() {
		defer close(queue)
		for _, j := range jobs {
			select {
			case queue <- j:
			case <-ctx.Done():
				return
			}
		}
	}()
	bar := newProgress(stderr, len(jobs))
	var failed []Outcome
	done, skipped := 0, 0
	start := time.Now()
	p.Run(ctx, queue, func(ctx context.Context, j Job) Outcome { return b.process(ctx, p, j) }, func(o Outcome) {
		if eng.failed() {
			cancel(errEngineDown) // every other input would fail the same way
			return
		}
		bar.finish(o)
		bar.mu.Lock()
		defer bar.mu.Unlock()
		switch {
		case errors.Is(o.Err, errSkipped):
			skipped++
		case o.Err != nil && ctx.Err() == nil:
			failed = append(failed, o)
		case o.Err == nil:
			done++
		}
	})
	if err := eng.startErr(); err != nil {
		fmt.Fprintln(stderr, "\ncutout remove:", quote.Text(err.Error()))
		return 1
	}
	sort.Slice(failed, func(i, j int) bool { return failed[i].Job.Path < failed[j].Job.Path })
	summary := fmt.Sprintf("done %d, failed %d", done, len(failed)+len(walkErrs))
	if skipped > 0 {
		summary += fmt.Sprintf(", skipped %d already done", skipped)
	}
	fmt.Fprintf(stderr, "%s, in %s\n", summary, time.Since(start).Round(time.Millisecond))
	for _, e := range walkErrs {
		fmt.Fprintf(stderr, "  failed: %s\n", quote.Text(e.Error()))
	}
	for _, o := range failed {
		fmt.Fprintf(stderr, "  failed: %s\n", quote.Text(o.Err.Error()))
	}
	if sig.Err() != nil {
		fmt.Fprintln(stderr, "cutout remove: interrupted; files not started were left alone (run the same command again to go on)")
		return 130
	}
	if len(failed) > 0 || len(walkErrs) > 0 {
		return 1
	}
	return 0
}

// quoteAll quotes each name and joins them with commas.
func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = quote.Name(n)
	}
	return strings.Join(q, ", ")
}
