package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"cutout/app/cluster"
	"cutout/app/watch"
	"cutout/engine/validate"
	"cutout/internal/quote"
)

// clusterOptions are `cutout watch`'s flags for working with other machines.
type clusterOptions struct {
	serve, queue, tokenFile, store string
	tlsCert, tlsKey, tlsCA         string
	workersOnly                    bool
	inFlight                       int
	ackWait                        time.Duration
	maxDeliver                     int
	maxOutput                      int64
}

// storeDir is the embedded server's folder inside OUT (hidden: never an input).
const storeDir = ".cutout-nats"

// clusterFlags registers the flags; the function it returns checks them once fs is parsed
// (out is OUT) and gives nil when the watch works alone.
func clusterFlags(fs *flag.FlagSet) func(out string) (*clusterOptions, error) {
	k := &clusterOptions{}
	fs.StringVar(&k.serve, "serve", "", "run a queue server on `host:port` and hand work to the machines running `cutout worker` there")
	fs.StringVar(&k.queue, "queue", "", "hand work out through the queue server at this `url` (nats://HOST:PORT) instead of running one")
	fs.StringVar(&k.tokenFile, "token-file", "", "the queue's token `file` (with --serve, default OUT/.cutout-token, made when missing)")
	fs.StringVar(&k.store, "store", "", "with --serve: the queue server's `folder` (default OUT/"+storeDir+")")
	fs.StringVar(&k.tlsCert, "tls-cert", "", "with --serve: the server's TLS certificate `file` (with --tls-key)")
	fs.StringVar(&k.tlsKey, "tls-key", "", "with --serve: the TLS certificate's key `file`")
	fs.StringVar(&k.tlsCA, "tls-ca", "", "with --queue: the certificate authority `file` the server's certificate must come from")
	fs.BoolVar(&k.workersOnly, "workers-only", false, "with workers: only coordinate, cut out nothing on this machine")
	fs.IntVar(&k.inFlight, "in-flight", 8, "with workers: how many images are handed out at once")
	fs.DurationVar(&k.ackWait, "ack-wait", 30*time.Second, "with workers: a worker silent this long loses its image to another")
	fs.IntVar(&k.maxDeliver, "max-deliver", 3, "with workers: an image handed out this many times without an answer fails")
	maxOut := fs.Int64("max-output-mb", 512, "with workers: refuse results larger than this many MiB")
	return func(out string) (*clusterOptions, error) {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		k.maxOutput = *maxOut << 20
		switch {
		case k.serve == "" && k.queue == "":
			for _, name := range []string{"token-file", "store", "tls-cert", "tls-key", "tls-ca", "workers-only", "in-flight", "ack-wait", "max-deliver", "max-output-mb"} {
				if set[name] {
					return nil, fmt.Errorf("--%s is for working with other machines: it needs --serve or --queue", name)
				}
			}
			return nil, nil
		case k.serve != "" && k.queue != "":
			return nil, errors.New("--serve runs a queue server and --queue uses another: one or the other")
		case k.queue != "" && !strings.HasPrefix(k.queue, "nats://") && !strings.HasPrefix(k.queue, "tls://"):
			return nil, fmt.Errorf("--queue %s: use nats://HOST:PORT (or tls://HOST:PORT)", quote.Name(k.queue))
		case k.queue != "" && k.tokenFile == "":
			return nil, errors.New("--queue needs --token-file: the token of that queue server")
		case k.queue != "" && (k.store != "" || k.tlsCert != "" || k.tlsKey != ""):
			return nil, errors.New("--store, --tls-cert and --tls-key are for the server --serve runs")
		case k.serve != "" && k.tlsCA != "":
			return nil, errors.New("--tls-ca is for --queue; the workers of a --serve hub take it")
		case (k.tlsCert == "") != (k.tlsKey == ""):
			return nil, errors.New("--tls-cert and --tls-key go together")
		case k.inFlight < 1 || k.inFlight > 256:
			return nil, fmt.Errorf("--in-flight %d: from 1 to 256", k.inFlight)
		case k.maxDeliver < 1 || k.maxDeliver > 100:
			return nil, fmt.Errorf("--max-deliver %d: from 1 to 100", k.maxDeliver)
		case k.ackWait < 500*time.Millisecond:
			return nil, fmt.Errorf("--ack-wait %v: at least 500ms", k.ackWait)
		case *maxOut < 1:
			return nil, errors.New("--max-output-mb must be at least 1")
		}
		if k.serve != "" && k.tokenFile == "" {
			k.tokenFile = filepath.Join(out, cluster.TokenFile())
		}
		return k, nil
	}
}

// runCluster is the watch with workers: the hot folder as ever (settling, the journal,
// names, atomic outputs, failure notes), its handler handing each input to a worker.
func (c *watchCommand) runCluster(ctx context.Context, stderr io.Writer) int {
	k := c.cluster
	fail := func(code int, err error) int {
		fmt.Fprintln(stderr, "cutout watch:", quote.Text(err.Error()))
		return code
	}
	if c.engine.UnverifiedModel != "" {
		return fail(2, errors.New("workers load only models listed in models.toml and checked against their checksums; --allow-unverified-model works without --serve and --queue"))
	}
	m, err := c.engine.Resolve()
	if err != nil {
		return fail(1, err)
	}
	model := cluster.ModelToken(m.SHA256)
	token, err := k.token(c.cfg.Out, stderr)
	if err != nil {
		return fail(1, err)
	}
	var srv *cluster.Server
	url := k.queue
	if k.serve != "" {
		store := k.store
		if store == "" {
			store = filepath.Join(c.cfg.Out, storeDir)
		}
		if srv, err = cluster.Serve(cluster.ServerConfig{Addr: k.serve, Token: token, StoreDir: store, TLSCert: k.tlsCert, TLSKey: k.tlsKey}); err != nil {
			return fail(1, err)
		}
		defer srv.Close()
		url = srv.URL()
		k.announce(url, store, stderr)
	}
	conn, err := cluster.Connect(ctx, cluster.Dial{URL: url, Token: token, CAFile: k.tlsCA, Name: "cutout hub", InProcess: srv, Log: stderr})
	if err != nil {
		if ctx.Err() != nil {
			return 0
		}
		if errors.Is(err, cluster.ErrAuth) {
			err = fmt.Errorf("%w: the token in %s is not that server's", err, quote.Name(k.tokenFile))
		}
		return fail(1, err)
	}
	defer conn.Close()
	co, err := cluster.NewCoordinator(ctx, conn, cluster.Config{Model: model, MaxInput: c.limits.Resolved().MaxBytes,
		MaxOutput: k.maxOutput, AckWait: k.ackWait, MaxDeliver: k.maxDeliver})
	if err != nil {
		return fail(1, err)
	}
	defer co.Close()
	if c.output.bgPath != "" {
		// The background goes to the workers as bytes, checked and decoded there by the
		// engine like any input; the hub only validates it.
		_, data, err := validate.File(c.output.bgPath, c.limits)
		if err != nil {
			return fail(1, fmt.Errorf("the background image: %w", err))
		}
		s := sha256.Sum256(data)
		c.output.BgImageID = hex.EncodeToString(s[:8])
		if err := co.Keep(ctx, "bg-"+c.output.BgImageID, data); err != nil {
			return fail(1, fmt.Errorf("the background image: %w", err))
		}
	}
	settings := settingsOf(c.matte, c.output, c.level)
	raw, fp := settings.encoded(model)
	if !k.workersOnly {
		eng, err := NewEngine(ctx, c.engine)
		if err != nil {
			if ctx.Err() != nil {
				return 0
			}
			return fail(1, err)
		}
		defer eng.Close()
		work := &clusterWork{eng: eng, limits: c.limits, model: model}
		w, err := cluster.NewWorker(conn, cluster.WorkerConfig{ID: "the hub", Model: model, Slots: inFlight,
			MaxInput: c.limits.Resolved().MaxBytes, Process: work.process})
		if err != nil {
			return fail(1, err)
		}
		wctx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); w.Run(wctx) }()
		defer wg.Wait()
		defer stop()
	}
	h := &clusterHandler{co: co, model: model, raw: raw, fp: fp, settings: settings, sink: &Sink{Compression: c.level},
		out: c.cfg.Out, ext: c.output.Ext(), limits: c.limits}
	return c.watchWith(ctx, h.handle, stderr)
}

// token reads the queue's token, or (--serve without --token-file) makes one in OUT.
func (k *clusterOptions) token(out string, stderr io.Writer) (string, error) {
	if k.serve == "" || k.tokenFile != filepath.Join(out, cluster.TokenFile()) {
		return cluster.ReadToken(k.tokenFile)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", fmt.Errorf("the output folder %s cannot be made: %s", quote.Name(out), quote.Text(systemReason(err)))
	}
	t, made, err := cluster.EnsureToken(k.tokenFile)
	if made {
		fmt.Fprintf(stderr, "queue: made a token for the workers in %s\n", quote.Name(k.tokenFile))
	}
	return t, err
}

// announce says how workers join, and warns when the token would cross a network in clear.
func (k *clusterOptions) announce(url, store string, stderr io.Writer) {
	fmt.Fprintf(stderr, "queue: serving on %s (its files in %s); on each worker machine run\n"+
		"    cutout worker %s --token-file FILE\n"+
		"  with FILE a private copy (chmod 600) of %s\n", quote.Name(url), quote.Name(store), url, quote.Name(k.tokenFile))
	host, _, _ := net.SplitHostPort(k.serve)
	if ip := net.ParseIP(host); k.tlsCert == "" && host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		fmt.Fprintln(stderr, "queue: without --tls-cert and --tls-key the token and the images cross the network unencrypted; use TLS beyond a network you trust")
	}
}

// clusterHandler is the hot folder's handler with workers: the input is validated here as
// it would be locally, handed to a worker (cluster.Coordinator.Submit), and the worker's
// result checked and written through the sink exactly as a local result is.
type clusterHandler struct {
	co       *cluster.Coordinator
	model    string
	raw      json.RawMessage
	fp       string
	settings clusterSettings
	sink     *Sink
	out, ext string
	limits   validate.Limits
}

func (h *clusterHandler) handle(ctx context.Context, j watch.Job) (string, error) {
	base := filepath.Base(j.Path)
	name := quote.Name(base)
	data := j.Data
	var info validate.Info
	var err error
	if data == nil { // over the hash cap: read (and refused) as the local handler would
		info, data, err = validate.FileIn(j.Path, j.Root, j.Rel, h.limits)
	} else {
		info, err = validate.Bytes(j.Path, data, h.limits)
	}
	if err != nil {
		if temporary(err) {
			return "", watch.Retry(err)
		}
		return "", err
	}
	hash := j.Hash
	if hash == "" {
		hash = cluster.HashHex(data)
	}
	key := cluster.HashHex([]byte(hash + "\x00" + h.fp))
	a, err := h.co.Submit(ctx, cluster.Job{Key: key, Name: base, Model: h.model, Settings: h.raw, Fingerprint: h.fp, Hash: hash}, data)
	if err != nil {
		if ctx.Err() != nil {
			return "", context.Cause(ctx)
		}
		return "", watch.Retry(fmt.Errorf("%s: %s", name, quote.Text(err.Error())))
	}
	on := ""
	if a.Worker != "" {
		on = " (on the worker " + quote.Name(a.Worker) + ")"
	}
	switch a.Status {
	case cluster.Retry:
		return "", watch.Retry(fmt.Errorf("%s: %s%s", name, quote.Text(strings.TrimPrefix(a.Error, name+": ")), on))
	case cluster.Failed:
		h.co.Done(key)
		return "", fmt.Errorf("%s: %s%s", name, quote.Text(strings.TrimPrefix(a.Error, name+": ")), on)
	}
	if err := checkResult(a.Data, h.settings, info); err != nil {
		h.co.Done(key) // made again next time
		return "", watch.Retry(fmt.Errorf("%s: the worker %s sent back %s; it is cut out again", name, quote.Name(a.Worker), err))
	}
	path, _, _, err := h.sink.WriteImage(h.out, j.Output, h.ext, j.Replace, func(w io.Writer) error {
		_, err := w.Write(a.Data)
		return err
	})
	if err != nil {
		// The result stays on the server: the next try writes it without cutting it out again.
		return "", watch.Retry(&writeError{name: base, dir: h.out, err: err})
	}
	h.co.Done(key)
	return path, nil
}
