package cluster

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"cutout/internal/quote"
)

// Process is the worker's pipeline for one job: input is the job's content, fetched and
// checked against the job's hash and size. It returns the finished file, or an error: a
// sentence saying why the job failed (recorded by the hub as the file's failure), or one
// wrapped with Later when the failure is not the file's (the hub tries again later). fetch
// reads another object the job's settings name (a background image) of at most max bytes.
type Process func(ctx context.Context, j *Job, input []byte, fetch func(ctx context.Context, name string, max int64) ([]byte, error)) ([]byte, error)

// Later marks a worker's failure as not the job's fault.
func Later(err error) error {
	if err == nil {
		return nil
	}
	return laterError{err}
}

type laterError struct{ err error }

func (e laterError) Error() string { return e.err.Error() }
func (e laterError) Unwrap() error { return e.err }

// WorkerConfig describes a worker.
type WorkerConfig struct {
	// ID names the worker in the hub's messages (host and process).
	ID string
	// Model is the token of the model the worker has loaded: it takes only its jobs.
	Model string
	// Slots is how many jobs it holds at once (default 2, what one engine runs).
	Slots int
	// MaxInput is the worker's own cap on an input (the hub's applies too, when lower).
	MaxInput int64
	// Process runs one job.
	Process Process
	// Log receives a line per job and per wait.
	Log io.Writer
}

// Worker takes jobs of its model from the queue until its context ends.
type Worker struct {
	conn *Conn
	cfg  WorkerConfig
	in   jetstream.ObjectStore
	out  jetstream.ObjectStore
	log  io.Writer

	maxIn, maxOut int64
	ackWait       time.Duration
	logMu         sync.Mutex
}

// NewWorker prepares a worker on conn.
func NewWorker(conn *Conn, cfg WorkerConfig) (*Worker, error) {
	if !isHex(cfg.Model, 16) {
		return nil, errors.New("the worker's model token is not one")
	}
	if cfg.Slots <= 0 {
		cfg.Slots = 2
	}
	if cfg.ID == "" {
		cfg.ID = "worker"
	}
	log := cfg.Log
	if log == nil {
		log = io.Discard
	}
	return &Worker{conn: conn, cfg: cfg, log: log}, nil
}

func (w *Worker) logf(format string, args ...any) {
	w.logMu.Lock()
	defer w.logMu.Unlock()
	fmt.Fprintf(w.log, format+"\n", args...)
}

// Run takes jobs until ctx ends (jobs in hand then go back to the queue at once) or the
// server refuses the token (Conn.Err). While the server is away it waits for it to come back.
func (w *Worker) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-w.conn.Closed():
			cancel()
		case <-ctx.Done():
		}
	}()
	go w.beat(ctx)
	cons, err := w.bind(ctx)
	if err != nil {
		return w.ended(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < w.cfg.Slots; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.slot(ctx, cons)
		}()
	}
	wg.Wait()
	return w.ended(nil)
}

// ended is Run's error: the connection's when it closed for good, else err.
func (w *Worker) ended(err error) error {
	select {
	case <-w.conn.Closed():
		if cerr := w.conn.Err(); cerr != nil {
			return cerr
		}
	default:
	}
	if err != nil && errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// beat says the worker is there, every heartbeat.
func (w *Worker) beat(ctx context.Context) {
	body, _ := json.Marshal(presence{ID: w.cfg.ID, Model: w.cfg.Model, Slots: w.cfg.Slots})
	t := time.NewTicker(heartbeat)
	defer t.Stop()
	for {
		w.conn.nc.Publish(presenceSubject, body)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// bind finds the consumer of the worker's model, waiting for a hub that asks for it.
func (w *Worker) bind(ctx context.Context) (jetstream.Consumer, error) {
	said := false
	for {
		bctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		cons, err := w.conn.js.Consumer(bctx, JobsStream, consumerName(w.cfg.Model))
		var s jetstream.Stream
		if err == nil {
			s, err = w.conn.js.Stream(bctx, JobsStream)
		}
		if err == nil {
			w.in, err = w.conn.js.ObjectStore(bctx, InputsBucket)
		}
		if err == nil {
			w.out, err = w.conn.js.ObjectStore(bctx, OutputsBucket)
		}
		cancel()
		if err == nil {
			md := s.CachedInfo().Config.Metadata
			w.maxIn, _ = strconv.ParseInt(md[metaMaxInput], 10, 64)
			w.maxOut, _ = strconv.ParseInt(md[metaMaxOutput], 10, 64)
			if w.maxIn <= 0 || w.cfg.MaxInput > 0 && w.cfg.MaxInput < w.maxIn {
				w.maxIn = w.cfg.MaxInput
			}
			w.ackWait = cons.CachedInfo().Config.AckWait
			if w.maxIn > 0 && w.maxOut > 0 {
				w.logf("queue: taking jobs from %s (%d at a time)", quote.Name(w.conn.url), w.cfg.Slots)
				return cons, nil
			}
			err = errors.New("the hub set no caps on inputs and results")
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !said {
			what := quote.Text(errorText(err))
			if errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) {
				what = "no hub there asks for this worker's model yet"
			}
			w.logf("queue: waiting at %s: %s", quote.Name(w.conn.url), what)
			said = true
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

// slot takes one job at a time until ctx ends.
func (w *Worker) slot(ctx context.Context, cons jetstream.Consumer) {
	for ctx.Err() == nil {
		fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		m, err := cons.Next(jetstream.FetchContext(fctx))
		cancel()
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, jetstream.ErrNoMessages) {
				time.Sleep(500 * time.Millisecond) // the server is away: the client reconnects meanwhile
			}
			continue
		}
		w.handle(ctx, m)
	}
}

// handle runs one delivered job to its answer.
func (w *Worker) handle(ctx context.Context, m jetstream.Msg) {
	var j Job
	err := decodeStrict(m.Data(), &j)
	if err == nil {
		err = j.check()
	}
	if err == nil && m.Subject() != jobSubject(w.cfg.Model, j.Key) {
		err = errors.New("the job came under another subject than its own")
	}
	if err != nil {
		w.logf("queue: refused a job that is not well-formed: %s", quote.Text(err.Error()))
		m.TermWithReason("malformed job")
		return
	}
	// Progress keeps the job ours while it runs: only a worker that stops (or loses the
	// server) for longer than the ack wait loses it to another.
	pctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		t := time.NewTicker(max(w.ackWait/3, 100*time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-pctx.Done():
				return
			case <-t.C:
				m.InProgress()
			}
		}
	}()
	start := time.Now()
	r := Result{Version: Version, Key: j.Key, Worker: w.cfg.ID}
	input, err := w.input(ctx, &j)
	var out []byte
	if err == nil {
		out, err = w.cfg.Process(ctx, &j, input, w.fetch)
	}
	input = nil
	if ctx.Err() != nil {
		m.Nak() // stopping: another worker takes it now
		return
	}
	var later laterError
	switch {
	case errors.As(err, &later):
		r.Status, r.Error = Retry, err.Error()
	case err != nil:
		r.Status, r.Error = Failed, err.Error()
	case int64(len(out)) > w.maxOut:
		r.Status, r.Error = Failed, fmt.Sprintf("the cut-out is %d bytes, over the hub's cap of %d", len(out), w.maxOut)
	default:
		r.Status, r.Size = OK, int64(len(out))
		octx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		_, err = w.out.PutBytes(octx, j.Key, out)
		cancel()
		if err != nil {
			w.logf("queue: %s: storing the result failed (%s); it goes back to the queue", quote.Name(j.Name), quote.Text(errorText(err)))
			m.NakWithDelay(time.Second)
			return
		}
	}
	meta, _ := m.Metadata()
	id := j.Key
	if meta != nil {
		id += "." + strconv.FormatUint(meta.Sequence.Stream, 10) + "." + strconv.FormatUint(meta.NumDelivered, 10)
	}
	body, _ := json.Marshal(r)
	actx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := w.conn.js.PublishMsg(actx, &nats.Msg{Subject: resultsPrefix + j.Key, Data: body}, jetstream.WithMsgID(id)); err != nil {
		w.logf("queue: %s: sending the answer failed (%s); it goes back to the queue", quote.Name(j.Name), quote.Text(errorText(err)))
		m.NakWithDelay(time.Second)
		return
	}
	if err := m.DoubleAck(actx); err != nil {
		w.logf("queue: %s: the server did not take the acknowledgement (%s)", quote.Name(j.Name), quote.Text(errorText(err)))
	}
	w.logf("queue: %s %s in %.1fs%s", quote.Name(j.Name), r.Status, time.Since(start).Seconds(), errSuffix(r))
}

func errSuffix(r Result) string {
	if r.Error == "" {
		return ""
	}
	return ": " + quote.Text(r.Error)
}

// input fetches the job's bytes and checks them against the job.
func (w *Worker) input(ctx context.Context, j *Job) ([]byte, error) {
	if j.Size > w.maxIn {
		return nil, fmt.Errorf("%s is %d bytes, over this worker's cap of %d", quote.Name(j.Name), j.Size, w.maxIn)
	}
	b, err := w.fetch(ctx, j.Key, j.Size)
	switch {
	case errors.Is(err, jetstream.ErrObjectNotFound):
		return nil, Later(fmt.Errorf("the input %s was not in the store", quote.Name(j.Name)))
	case err != nil:
		return nil, Later(err)
	case int64(len(b)) != j.Size || hex.EncodeToString(sum(b)) != j.Hash:
		return nil, Later(fmt.Errorf("the input %s in the store is not the content the job names", quote.Name(j.Name)))
	}
	return b, nil
}

// fetch reads an object of at most max bytes from the inputs store.
func (w *Worker) fetch(ctx context.Context, name string, max int64) ([]byte, error) {
	fctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	return getObject(fctx, w.in, name, min(max, w.maxIn))
}
