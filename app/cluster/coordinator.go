package cluster

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"cutout/internal/quote"
)

// Coordinator is the hub's side: it hands jobs to the workers and waits for their answers.
type Coordinator struct {
	conn            *Conn
	cfg             Config
	jobs, results   jetstream.Stream
	inputs, outputs jetstream.ObjectStore
	subs            []*nats.Subscription
	started         time.Time

	mu      sync.Mutex
	waiters map[string]*waiter   // keys being waited for
	seen    map[string]time.Time // workers of the model, by ID: last heard
	recent  map[string]time.Time // keys answered and cleaned up: late answers are dropped
	extras  map[string][]byte    // objects every job may need (a background image)
	checked time.Time            // when the extras were last seen in the store
}

// waiter is one key's Submit calls (two inputs with the same content share one job).
type waiter struct {
	n    int
	wake []chan struct{}
	mu   sync.Mutex // one of them puts the input and the job in at a time
}

// Answer is a worker's result: the cut-out's bytes (OK) or a sentence saying why not.
type Answer struct {
	Status Status
	Error  string
	Worker string
	Data   []byte
}

// NewCoordinator sets the server up for the hub (see Config) and starts following the
// answers, the workers' heartbeats and the server's give-up notices.
func NewCoordinator(ctx context.Context, conn *Conn, cfg Config) (*Coordinator, error) {
	cfg = cfg.withDefaults()
	if !isHex(cfg.Model, 16) {
		return nil, errors.New("the hub's model token is not one")
	}
	c := &Coordinator{conn: conn, cfg: cfg, started: time.Now(), waiters: map[string]*waiter{},
		seen: map[string]time.Time{}, recent: map[string]time.Time{}, extras: map[string][]byte{}}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var err error
	if c.jobs, c.results, c.inputs, c.outputs, err = setup(sctx, conn.js, cfg); err != nil {
		return nil, err
	}
	for _, s := range []struct {
		subject string
		cb      nats.MsgHandler
	}{{resultsPrefix + "*", c.onResult}, {presenceSubject, c.onPresence}, {maxDeliveries, c.onGiveUp}} {
		sub, err := conn.nc.Subscribe(s.subject, s.cb)
		if err != nil {
			c.Close()
			return nil, unavailablef("following %s on the queue server failed: %s", s.subject, quote.Text(errorText(err)))
		}
		c.subs = append(c.subs, sub)
	}
	return c, nil
}

// Close stops following the server (the connection stays the caller's).
func (c *Coordinator) Close() {
	for _, s := range c.subs {
		s.Unsubscribe()
	}
}

// Keep puts an object every job may need into the inputs store (a background image, named
// by its content) and puts it back should it expire while the hub runs.
func (c *Coordinator) Keep(ctx context.Context, name string, data []byte) error {
	c.mu.Lock()
	c.extras[name] = data
	c.checked = time.Time{}
	c.mu.Unlock()
	return c.ensureExtras(ctx)
}

func (c *Coordinator) ensureExtras(ctx context.Context) error {
	c.mu.Lock()
	if time.Since(c.checked) < time.Minute {
		c.mu.Unlock()
		return nil
	}
	extras := make(map[string][]byte, len(c.extras))
	for k, v := range c.extras {
		extras[k] = v
	}
	c.mu.Unlock()
	for name, data := range extras {
		if err := c.putOnce(ctx, name, data); err != nil {
			return err
		}
	}
	c.mu.Lock()
	c.checked = time.Now()
	c.mu.Unlock()
	return nil
}

// Submit has a worker cut out data for job j (Key, Name, Model, Settings, Fingerprint and
// Hash filled in) and waits for the answer. An answer already on the server (the hub was
// restarted, or another input has the same content) is taken as it is; otherwise the input
// goes into the store and the job onto the queue, once: the job's message ID is its key, so a
// second publication is dropped by the server. Its errors wrap ErrUnavailable (the server is
// not reachable, no worker of the model is there) or are ctx's. Call Done once the answer is
// dealt with.
func (c *Coordinator) Submit(ctx context.Context, j Job, data []byte) (*Answer, error) {
	j.Version, j.Size = Version, int64(len(data))
	if err := j.check(); err != nil {
		return nil, err
	}
	wake := make(chan struct{}, 1)
	w := c.enter(j.Key, wake)
	defer c.leave(j.Key, wake)
	if !c.conn.Connected() {
		return nil, unavailablef("the queue server at %s is not reachable", quote.Name(c.conn.url))
	}
	if err := c.ensureExtras(ctx); err != nil {
		return nil, err
	}
	if a, err := c.answer(ctx, j.Key); a != nil || err != nil {
		return a, err
	}
	if !c.workerThere() {
		return nil, c.noWorker()
	}
	if err := c.publish(ctx, w, j, data); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(c.cfg.Wait)
	lastWorker := time.Now()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		case <-wake:
		case <-tick.C:
		}
		a, err := c.answer(ctx, j.Key)
		if a != nil || (err != nil && !errors.Is(err, ErrUnavailable)) {
			return a, err
		}
		switch {
		case c.workerThere():
			lastWorker = time.Now()
		case time.Since(lastWorker) > presenceTimeout:
			return nil, c.noWorker() // the job stays queued: its answer is found next time
		}
		if time.Now().After(deadline) {
			c.unqueue(ctx, j)
			return nil, unavailablef("no worker answered for %s in %v; it is put in again later", quote.Name(j.Name), c.cfg.Wait)
		}
	}
}

func (c *Coordinator) noWorker() error {
	return unavailablef("no worker with the hub's model is connected to the queue server at %s", quote.Name(c.conn.url))
}

// Done forgets the job's objects and answer once every Submit for key has returned; an
// answer that still comes for it later (a worker that was thought dead) is dropped.
func (c *Coordinator) Done(key string) {
	c.mu.Lock()
	if w := c.waiters[key]; w != nil && w.n > 0 {
		c.mu.Unlock()
		return
	}
	now := time.Now()
	c.recent[key] = now
	for k, t := range c.recent {
		if now.Sub(t) > time.Hour {
			delete(c.recent, k)
		}
	}
	c.mu.Unlock()
	c.drop(key)
}

// drop deletes key's answer and objects (best effort: the TTL removes what is left).
func (c *Coordinator) drop(key string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c.results.Purge(ctx, jetstream.WithPurgeSubject(resultsPrefix+key))
	c.outputs.Delete(ctx, key)
	c.inputs.Delete(ctx, key)
}

func (c *Coordinator) enter(key string, wake chan struct{}) *waiter {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := c.waiters[key]
	if w == nil {
		w = &waiter{}
		c.waiters[key] = w
	}
	w.n++
	w.wake = append(w.wake, wake)
	delete(c.recent, key)
	return w
}

func (c *Coordinator) leave(key string, wake chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := c.waiters[key]
	w.n--
	for i, ch := range w.wake {
		if ch == wake {
			w.wake = append(w.wake[:i], w.wake[i+1:]...)
			break
		}
	}
	if w.n == 0 {
		delete(c.waiters, key)
	}
}

// answer is the answer on the server for key, if there is one. A Retry answer, or one that
// cannot be used, is taken off the server so that the next Submit puts the job in again.
func (c *Coordinator) answer(ctx context.Context, key string) (*Answer, error) {
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	m, err := c.results.GetLastMsgForSubject(rctx, resultsPrefix+key)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, nil
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		return nil, unavailablef("the queue server at %s did not answer: %s", quote.Name(c.conn.url), quote.Text(errorText(err)))
	}
	var r Result
	if err = decodeStrict(m.Data, &r); err == nil {
		err = r.check(key)
	}
	if err != nil {
		c.drop(key)
		return &Answer{Status: Retry, Error: "a worker's answer could not be read: " + err.Error()}, nil
	}
	a := &Answer{Status: r.Status, Error: r.Error, Worker: r.Worker}
	switch {
	case r.Status == Retry:
		c.drop(key)
	case r.Status == OK && r.Size > c.cfg.MaxOutput:
		c.drop(key)
		a.Status, a.Error = Retry, fmt.Sprintf("the worker's result is %d bytes, over the cap of %d", r.Size, c.cfg.MaxOutput)
	case r.Status == OK:
		a.Data, err = c.get(ctx, c.outputs, key, r.Size)
		switch {
		case errors.Is(err, jetstream.ErrObjectNotFound):
			c.drop(key)
			a.Status, a.Error, a.Data = Retry, "the worker's result was no longer in the store", nil
		case errors.Is(err, ErrUnavailable):
			return nil, err // replaced meanwhile (a second worker's copy), or the server went away: look again
		case err != nil:
			c.drop(key)
			a.Status, a.Error, a.Data = Retry, "the worker's result could not be used: "+err.Error(), nil
		}
	}
	return a, nil
}

// get reads object name from store, refusing one that is not size bytes.
func (c *Coordinator) get(ctx context.Context, store jetstream.ObjectStore, name string, size int64) ([]byte, error) {
	gctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	return getObject(gctx, store, name, size)
}

// getObject reads an object of at most max bytes (exactly max when exact), whose digest the
// store checks as it is read.
func getObject(ctx context.Context, store jetstream.ObjectStore, name string, max int64) ([]byte, error) {
	r, err := store.Get(ctx, name)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, err
	}
	if err != nil {
		return nil, unavailablef("the store did not give %s: %s", quote.Name(name), quote.Text(errorText(err)))
	}
	defer r.Close()
	info, err := r.Info()
	if err != nil {
		return nil, unavailablef("the store did not give %s: %s", quote.Name(name), quote.Text(errorText(err)))
	}
	if int64(info.Size) > max {
		return nil, fmt.Errorf("the object %s is %d bytes, over %d", quote.Name(name), info.Size, max)
	}
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, unavailablef("reading %s from the store failed: %s", quote.Name(name), quote.Text(errorText(err)))
	}
	if int64(len(b)) != int64(info.Size) {
		return nil, unavailablef("the object %s came back cut short", quote.Name(name))
	}
	return b, nil
}

// publish puts the input in the store (unless it is there with this content) and the job on
// the queue (unless it is queued already).
func (c *Coordinator) publish(ctx context.Context, w *waiter, j Job, data []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	pctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if err := c.putOnce(pctx, j.Key, data); err != nil {
		return err
	}
	subject := jobSubject(c.cfg.Model, j.Key)
	switch _, err := c.jobs.GetLastMsgForSubject(pctx, subject); {
	case err == nil:
		return nil // queued, or with a worker
	case !errors.Is(err, jetstream.ErrMsgNotFound):
		return unavailablef("the queue server at %s did not answer: %s", quote.Name(c.conn.url), quote.Text(errorText(err)))
	}
	body, err := json.Marshal(j)
	if err != nil {
		return err
	}
	ack, err := c.conn.js.PublishMsg(pctx, &nats.Msg{Subject: subject, Data: body}, jetstream.WithMsgID(j.Key))
	if err == nil && ack.Duplicate {
		// Published within the deduplication window and no longer queued, yet without an
		// answer: it was answered "later" (and that answer taken off) or taken off the queue.
		// It goes in again under an ID of its own.
		_, err = c.conn.js.PublishMsg(pctx, &nats.Msg{Subject: subject, Data: body},
			jetstream.WithMsgID(j.Key+"."+strconv.FormatInt(time.Now().UnixNano(), 36)))
	}
	if err != nil {
		return unavailablef("queueing %s failed: %s", quote.Name(j.Name), quote.Text(errorText(err)))
	}
	return nil
}

// putOnce stores data as name unless the store has exactly that content under it.
func (c *Coordinator) putOnce(ctx context.Context, name string, data []byte) error {
	info, err := c.inputs.GetInfo(ctx, name)
	if err == nil && int64(info.Size) == int64(len(data)) {
		if d, derr := jetstream.DecodeObjectDigest(info.Digest); derr == nil && bytes.Equal(d, sum(data)) {
			return nil
		}
	}
	if err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
		return unavailablef("the store on %s did not answer: %s", quote.Name(c.conn.url), quote.Text(errorText(err)))
	}
	if _, err := c.inputs.PutBytes(ctx, name, data); err != nil {
		return unavailablef("the queue's store did not take the input: %s", quote.Text(errorText(err)))
	}
	return nil
}

// unqueue takes a job that nobody answers off the queue.
func (c *Coordinator) unqueue(ctx context.Context, j Job) {
	uctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if m, err := c.jobs.GetLastMsgForSubject(uctx, jobSubject(c.cfg.Model, j.Key)); err == nil {
		c.jobs.DeleteMsg(uctx, m.Sequence)
	}
}

// workerThere reports whether a worker of the model was heard lately (or the hub has only
// just started, before any could be).
func (c *Coordinator) workerThere() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.started) < presenceTimeout {
		return true
	}
	for id, t := range c.seen {
		if time.Since(t) < presenceTimeout {
			return true
		}
		delete(c.seen, id)
	}
	return false
}

// Workers counts the workers of the model heard lately.
func (c *Coordinator) Workers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.seen {
		if time.Since(t) < presenceTimeout {
			n++
		}
	}
	return n
}

func (c *Coordinator) onPresence(m *nats.Msg) {
	var p presence
	if decodeStrict(m.Data, &p) != nil || p.Model != c.cfg.Model || p.ID == "" || len(p.ID) > 200 {
		return
	}
	c.mu.Lock()
	c.seen[p.ID] = time.Now()
	c.mu.Unlock()
}

// onResult wakes the Submit calls waiting for the key, or drops an answer to a job already
// done.
func (c *Coordinator) onResult(m *nats.Msg) {
	key := strings.TrimPrefix(m.Subject, resultsPrefix)
	c.mu.Lock()
	defer c.mu.Unlock()
	if w := c.waiters[key]; w != nil {
		for _, ch := range w.wake {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
		return
	}
	if _, ok := c.recent[key]; ok {
		go c.drop(key)
	}
}

// onGiveUp records a job the server gave up on (delivered MaxDeliver times, never
// answered: each worker that took it stopped) as that job's failure.
func (c *Coordinator) onGiveUp(m *nats.Msg) {
	var a struct {
		Stream     string `json:"stream"`
		Consumer   string `json:"consumer"`
		StreamSeq  uint64 `json:"stream_seq"`
		Deliveries uint64 `json:"deliveries"`
	}
	if json.Unmarshal(m.Data, &a) != nil || a.Stream != JobsStream || a.Consumer != consumerName(c.cfg.Model) {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		msg, err := c.jobs.GetMsg(ctx, a.StreamSeq)
		if err != nil {
			return
		}
		var j Job
		if decodeStrict(msg.Data, &j) != nil || j.check() != nil {
			c.jobs.DeleteMsg(ctx, a.StreamSeq)
			return
		}
		r := Result{Version: Version, Key: j.Key, Status: Failed, Worker: "the hub",
			Error: fmt.Sprintf("it was handed to a worker %d times and none finished it (each one stopped, was killed or lost the queue while on it), so it is not handed out again", a.Deliveries)}
		body, _ := json.Marshal(r)
		if _, err := c.conn.js.PublishMsg(ctx, &nats.Msg{Subject: resultsPrefix + j.Key, Data: body},
			jetstream.WithMsgID("given-up."+j.Key+"."+strconv.FormatUint(a.StreamSeq, 10))); err == nil {
			c.jobs.DeleteMsg(ctx, a.StreamSeq)
		}
	}()
}

// sum is data's SHA-256.
func sum(data []byte) []byte {
	s := sha256.Sum256(data)
	return s[:]
}

// HashHex is data's SHA-256 in hex, as Job.Hash holds it.
func HashHex(data []byte) string { return hex.EncodeToString(sum(data)) }
