package app

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"cutout/internal/quote"
)

func cmdRemove(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("remove", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "output folder (created if needed)")
	fs.StringVar(out, "output", "", "same as -o")
	overwrite := fs.Bool("overwrite", false, "replace earlier outputs of the same name (inputs are never replaced)")
	engine := engineFlags(fs)
	opts := matteFlags(fs)
	limits := limitFlags(fs)
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: cutout remove IN... -o OUTDIR [flags]\n\nCuts out each image file, and every image in each folder (recursively), into OUTDIR as PNG.\n\nflags:\n")
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
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintf(stderr, "cutout remove: cannot create the output folder %s: %s\n", quote.Name(*out), quote.Text(systemReason(err)))
		return 1
	}
	lim := limits()
	cfg, level := engine(lim, stderr)
	eng, err := NewEngine(context.Background(), cfg)
	if err != nil {
		fmt.Fprintln(stderr, "cutout remove:", quote.Text(err.Error()))
		return 1
	}
	defer eng.Close()

	sink := &Sink{Overwrite: *overwrite, Compression: level}
	for _, j := range jobs {
		if fi, err := os.Stat(j.Path); err == nil {
			sink.Protect = append(sink.Protect, fi)
		}
	}
	p := &Processor{Engine: eng, Limits: lim, Matte: mo, Sink: sink, OutDir: *out, Workers: 2}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
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
	done := 0
	start := time.Now()
	p.Run(ctx, queue, func(o Outcome) {
		bar.finish(o)
		bar.mu.Lock()
		defer bar.mu.Unlock()
		if o.Err != nil {
			failed = append(failed, o)
		} else {
			done++
		}
	})
	sort.Slice(failed, func(i, j int) bool { return failed[i].Job.Path < failed[j].Job.Path })
	fmt.Fprintf(stderr, "done %d, failed %d, in %s\n", done, len(jobs)-done+len(walkErrs), time.Since(start).Round(time.Millisecond))
	for _, e := range walkErrs {
		fmt.Fprintf(stderr, "  failed: %s\n", quote.Text(e.Error()))
	}
	for _, o := range failed {
		fmt.Fprintf(stderr, "  failed: %s\n", quote.Text(o.Err.Error()))
	}
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "cutout remove: interrupted; files not started were left alone")
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
