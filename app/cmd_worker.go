package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"cutout/app/cluster"
	"cutout/engine/validate"
	"cutout/internal/quote"
)

// cmdWorker is `cutout worker nats://HOST:PORT`: it takes a hub's jobs from its queue and
// cuts them out with its own sandboxed engine, until interrupted.
func cmdWorker(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tokenFile := fs.String("token-file", "", "the hub's token `file` (a private copy of the hub's OUT/.cutout-token)")
	ca := fs.String("tls-ca", "", "the certificate authority `file` the hub's TLS certificate must come from (default: the system's)")
	id := fs.String("name", "", "this worker's name in the hub's messages (default: host name and process id)")
	engine := engineFlags(fs)
	opts := matteFlags(fs)
	output := outputFlags(fs)
	limits := limitFlags(fs)
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: cutout worker nats://HOST:PORT --token-file F [flags]\n\n"+
			"Takes jobs from the hot folder that `cutout watch IN OUT --serve HOST:PORT` runs and cuts them\n"+
			"out with this machine's engine, until interrupted. The finishing and format settings come\n"+
			"with each job from the hub; given here, they pin this worker to them (a job that asks for\n"+
			"others is sent back). The model must be installed and verified here: the worker takes only\n"+
			"jobs for its model.\n\nflags:\n")
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if len(pos) != 1 {
		fs.Usage()
		return 2
	}
	url := pos[0]
	if !strings.HasPrefix(url, "nats://") && !strings.HasPrefix(url, "tls://") {
		fmt.Fprintf(stderr, "cutout worker: %s is not a queue address: use nats://HOST:PORT (or tls://HOST:PORT)\n", quote.Name(url))
		return 2
	}
	if *tokenFile == "" {
		fmt.Fprintln(stderr, "cutout worker: --token-file is needed: a private copy of the token the hub keeps in OUT/.cutout-token (or its --token-file)")
		return 2
	}
	mo, err := opts()
	var out Output
	if err == nil {
		out, err = output()
	}
	if err == nil && out.bgPath != "" {
		err = errors.New("--bg-image is the hub's to give: its background travels with its jobs")
	}
	if err != nil {
		fmt.Fprintln(stderr, "cutout worker:", quote.Text(err.Error()))
		return 2
	}
	lim := limits()
	ecfg, level := engine(lim, stderr)
	var pin *clusterSettings
	fs.Visit(func(f *flag.Flag) {
		if pin == nil && finishingFlag(f.Name) {
			p := settingsOf(mo, out, level)
			pin = &p
		}
	})
	return runWorker(url, *tokenFile, *ca, *id, pin, ecfg, lim, stderr)
}

// finishingFlag reports whether name is one of the finishing or format flags (a pin).
func finishingFlag(name string) bool {
	probe := flag.NewFlagSet("", flag.ContinueOnError)
	matteFlags(probe)
	outputFlags(probe)
	return probe.Lookup(name) != nil
}

// runWorker connects, starts the engine and takes jobs until interrupted.
func runWorker(url, tokenFile, ca, id string, pin *clusterSettings, ecfg SupervisorConfig, lim validate.Limits, stderr io.Writer) int {
	token, err := cluster.ReadToken(tokenFile)
	if err != nil {
		fmt.Fprintln(stderr, "cutout worker:", quote.Text(err.Error()))
		return 2
	}
	if ecfg.UnverifiedModel != "" {
		fmt.Fprintln(stderr, "cutout worker: a worker loads only models listed in models.toml and checked against their checksums (the hub asks for a model by its checksum); --allow-unverified-model is for local work")
		return 2
	}
	m, err := ecfg.Resolve()
	if err != nil {
		fmt.Fprintln(stderr, "cutout worker:", quote.Text(err.Error()))
		return 1
	}
	if id == "" {
		host, _ := os.Hostname()
		id = fmt.Sprintf("%s:%d", host, os.Getpid())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	conn, err := cluster.Connect(ctx, cluster.Dial{URL: url, Token: token, CAFile: ca, Name: "cutout worker " + id, Log: stderr})
	if err != nil {
		return workerExit(ctx, err, tokenFile, stderr)
	}
	defer conn.Close()
	ecfg.Warm = true
	eng, err := NewEngine(ctx, ecfg)
	if err != nil {
		if ctx.Err() != nil {
			return 0
		}
		fmt.Fprintln(stderr, "cutout worker:", quote.Text(err.Error()))
		return 1
	}
	defer eng.Close()
	token16 := cluster.ModelToken(m.SHA256)
	work := &clusterWork{eng: eng, limits: lim, model: token16, pin: pin}
	w, err := cluster.NewWorker(conn, cluster.WorkerConfig{ID: id, Model: token16, Slots: inFlight, MaxInput: lim.MaxBytes, Process: work.process, Log: stderr})
	if err != nil {
		fmt.Fprintln(stderr, "cutout worker:", quote.Text(err.Error()))
		return 1
	}
	fmt.Fprintf(stderr, "cutout worker %s: model %s, queue %s\n", quote.Name(id), quote.Name(m.Name), quote.Name(url))
	return workerExit(ctx, w.Run(ctx), tokenFile, stderr)
}

// workerExit says why the worker stopped: 0 when it was interrupted, 1 otherwise.
func workerExit(ctx context.Context, err error, tokenFile string, stderr io.Writer) int {
	switch {
	case err == nil || ctx.Err() != nil:
		return 0
	case errors.Is(err, cluster.ErrAuth):
		fmt.Fprintf(stderr, "cutout worker: %s: the token in %s is not the hub's; copy the hub's OUT/.cutout-token (or its --token-file) again\n",
			quote.Text(err.Error()), quote.Name(tokenFile))
		return 1
	}
	fmt.Fprintln(stderr, "cutout worker:", quote.Text(err.Error()))
	return 1
}
