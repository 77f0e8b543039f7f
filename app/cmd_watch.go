package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"image/png"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"cutout/app/watch"
	"cutout/engine/matte"
	"cutout/engine/validate"
	"cutout/internal/quote"
)

// watchCommand is a parsed `cutout watch`: the hot folder, the engine and the finishing.
type watchCommand struct {
	cfg    watch.Config // without its Handler
	engine SupervisorConfig
	matte  matte.Options
	output Output
	limits validate.Limits
	level  png.CompressionLevel
	// cluster, when set, hands the work to workers over a queue (cmd_watch_cluster.go).
	cluster *clusterOptions
}

func cmdWatch(args []string, stdout, stderr io.Writer) int {
	c, code := parseWatch(args, stderr)
	if c == nil {
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if c.engine.UnverifiedModel != "" {
		fmt.Fprintf(stderr, "WARNING: loading %s WITHOUT checksum verification (--allow-unverified-model).\n"+
			"         Only do this with a model file you made or trust.\n", c.engine.UnverifiedModel)
	}
	c.engine.Warm = true // files may take a while to come: have the model ready for them
	if c.cluster != nil {
		return c.runCluster(ctx, stderr)
	}
	eng, err := NewEngine(ctx, c.engine)
	if err != nil {
		if ctx.Err() != nil {
			return 0
		}
		fmt.Fprintln(stderr, "cutout watch:", quote.Text(err.Error()))
		return 1
	}
	defer eng.Close()
	if err := c.output.loadBackground(ctx, eng, c.limits); err != nil {
		fmt.Fprintln(stderr, "cutout watch:", quote.Text(err.Error()))
		return 1
	}
	return c.run(ctx, eng, stderr)
}

// parseWatch reads the command line; on a usage error or -h it returns nil and the exit code.
func parseWatch(args []string, stderr io.Writer) (*watchCommand, int) {
	fs := flag.NewFlagSet("watch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	recursive := fs.Bool("recursive", false, "also watch the folders inside IN")
	fs.BoolVar(recursive, "r", false, "same as --recursive")
	originals := fs.String("originals", "keep", "after an image is cut out: keep the original where it is, or move it to IN/.cutout-done/")
	settle := fs.Duration("settle", time.Second, "take a file once its size and time have not changed for this long")
	rescan := fs.Duration("rescan", 30*time.Second, "walk IN again this often, for changes the system does not report (network folders); 0: never")
	grace := fs.Duration("grace", 0, "a file that fails less than this long after it last changed may be incomplete: it is tried again once it has not changed for this long (default: 10 × --settle, at least 30s)")
	once := fs.Bool("once", false, "cut out what IN holds now (waiting for files still being written), then exit: 0 when every file is done, now or before; 1 when any failed")
	engine := engineFlags(fs)
	opts := matteFlags(fs)
	output := outputFlags(fs)
	limits := limitFlags(fs)
	clustered := clusterFlags(fs)
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: cutout watch IN OUT [flags]\n\n"+
			"Watches the folder IN and cuts out every image that lands there into OUT (PNG, or --format), once,\n"+
			"until interrupted (Ctrl-C). A journal in OUT remembers what was done across restarts;\n"+
			"failures are explained in OUT/.cutout-failed/. With --once it goes through what IN holds\n"+
			"and exits: status 0 when every file is done (now or before), 1 when any failed (a file\n"+
			"that failed before and has not changed counts as failed). With --serve ADDR (or --queue URL)\n"+
			"the work also goes to other machines running `cutout worker`.\n\nflags:\n")
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		if err == flag.ErrHelp {
			return nil, 0
		}
		return nil, 2
	}
	if len(pos) != 2 {
		fs.Usage()
		return nil, 2
	}
	orig, err := watch.ParseOriginals(*originals)
	if err != nil {
		fmt.Fprintln(stderr, "cutout watch:", quote.Text(err.Error()))
		return nil, 2
	}
	mo, err := opts()
	if err != nil {
		fmt.Fprintln(stderr, "cutout watch:", quote.Text(err.Error()))
		return nil, 2
	}
	outFmt, err := output()
	if err != nil {
		fmt.Fprintln(stderr, "cutout watch:", quote.Text(err.Error()))
		return nil, 2
	}
	k, err := clustered(pos[1])
	if err != nil {
		fmt.Fprintln(stderr, "cutout watch:", quote.Text(err.Error()))
		return nil, 2
	}
	if fi, err := os.Stat(pos[0]); err != nil || !fi.IsDir() {
		fmt.Fprintf(stderr, "cutout watch: the input folder %s does not exist or is not a folder\n", quote.Name(pos[0]))
		return nil, 2
	}
	if *rescan == 0 {
		*rescan = -1
	}
	lim := limits()
	ecfg, level := engine(lim, stderr)
	c := &watchCommand{
		cfg: watch.Config{In: pos[0], Out: pos[1], Recursive: *recursive, Originals: orig, Settle: *settle,
			Rescan: *rescan, Grace: *grace, Once: *once, Extensions: validate.Extensions(), OutputExt: outFmt.Ext(), MaxHash: lim.MaxBytes + 1},
		engine: ecfg, matte: mo, output: outFmt, limits: lim, level: level, cluster: k,
	}
	if k != nil {
		c.cfg.Workers = k.inFlight
	}
	return c, 0
}

// run watches until ctx ends, printing each event on stderr.
func (c *watchCommand) run(ctx context.Context, eng Engine, stderr io.Writer) int {
	sink := &Sink{Compression: c.level} // never Overwrite: earlier results stay
	in, err := filepath.Abs(c.cfg.In)
	if err != nil {
		fmt.Fprintln(stderr, "cutout watch:", quote.Text(err.Error()))
		return 1
	}
	p := &Processor{Engine: eng, Limits: c.limits, Roots: []string{in}, Matte: c.matte, Output: c.output, Sink: sink, OutDir: c.cfg.Out}
	return c.watchWith(ctx, WatchHandler(p), stderr)
}

// watchWith runs the hot folder with handler until ctx ends (or, with --once, IN is done).
func (c *watchCommand) watchWith(ctx context.Context, handler watch.Handler, stderr io.Writer) int {
	// Activity lines quote names and escape messages themselves (watch.Activity.String);
	// errors below may repeat a path given on the command line, so they are escaped too.
	cfg := c.cfg
	cfg.Handler = handler
	var mu sync.Mutex
	cfg.OnActivity = func(a watch.Activity) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(stderr, "%s %v\n", a.Time.Format("15:04:05"), a)
	}
	w, err := watch.New(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "cutout watch:", quote.Text(err.Error()))
		return 2
	}
	if err := w.Run(ctx); err != nil {
		fmt.Fprintln(stderr, "cutout watch:", quote.Text(err.Error()))
		return 1
	}
	s := w.Stats()
	mu.Lock()
	defer mu.Unlock()
	if !cfg.Once {
		fmt.Fprintf(stderr, "done %d, failed %d, already done %d\n", s.Done, s.Failed, s.Skipped)
		return 0
	}
	fmt.Fprintf(stderr, "done %d, failed %d, already done %d, still failed %d, given up for this run %d\n",
		s.Done, s.Failed, s.Skipped, s.StillFailed, s.Unfinished)
	switch {
	case ctx.Err() != nil:
		fmt.Fprintln(stderr, "cutout watch: interrupted before everything in the input folder was handled")
		return 1
	case s.Failed+s.StillFailed+s.Unfinished > 0:
		return 1
	}
	return 0
}

// WatchHandler adapts the pipeline to a hot folder: each input goes through validation,
// the engine, finishing and the sink (atomic, never replacing a file). Failures that are not
// the input's fault (the engine cannot start, the disk is full, the file vanished meanwhile)
// are marked for a later retry; every other failure is the input's and is recorded.
func WatchHandler(p *Processor) watch.Handler {
	return func(ctx context.Context, j watch.Job) (string, error) {
		o := p.Process(ctx, Job{Path: j.Path, Rel: j.Output, Root: j.Root, In: j.Rel, Data: j.Data, Replace: j.Replace})
		if o.Err != nil {
			if temporary(o.Err) {
				return "", watch.Retry(o.Err)
			}
			return "", o.Err
		}
		return o.Output, nil
	}
}

// temporary reports whether err is no fault of the input file: the hot folder tries the
// file again later (with backoff) instead of recording a failure and writing a note.
func temporary(err error) bool {
	var we *writeError
	var dead *deathError
	switch {
	case errors.As(err, &we):
		// The result could not be written into OUT (full, read-only, not writable, a link
		// in the way): nothing a new version of the input would change.
		return true
	case errors.As(err, &dead) && !dead.timedOut && errors.Is(dead.kind, ErrEngineTimeout):
		// The engine was stopped for another image that took too long (the supervisor
		// reruns such jobs alone; one that still comes back is not this file's doing).
		return true
	}
	return errors.Is(err, ErrEngineStart) || errors.Is(err, ErrEngineKilled) || errors.Is(err, validate.ErrNotFound) ||
		errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) || errors.Is(err, syscall.EROFS) ||
		errors.Is(err, syscall.EIO)
}
