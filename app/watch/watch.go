package watch

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"cutout/internal/quote"
)

// Watch is one hot folder. Run it in the foreground (Run) or switch it on and off (Start,
// Stop); read its counts (Stats) and recent activity (Recent) at any time, from any
// goroutine. Counts and activity last as long as the Watch, across stops and starts.
type Watch struct {
	cfg     Config
	changed chan struct{}
	// testErrors lets tests deliver watcher errors (an overflow) as fsnotify would.
	testErrors chan error
	// testDrop makes the watch lose notifications, as an overflowing kernel queue does.
	testDrop atomic.Bool
	// reads counts the files read whole (hashed), for tests of what is read again.
	reads atomic.Int64
	// testRetry, when set, stands for the second in every retry backoff.
	testRetry time.Duration

	mu     sync.Mutex
	stats  Stats
	recent ring
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// New checks c and returns a stopped watch.
func New(c Config) (*Watch, error) {
	c, err := c.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Watch{cfg: c, changed: make(chan struct{}, 1)}, nil
}

// Config is the watch's configuration, with defaults filled in.
func (w *Watch) Config() Config { return w.cfg }

// Stats returns the live counts.
func (w *Watch) Stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stats
}

// Recent returns the recent activity, oldest first.
func (w *Watch) Recent() []Activity {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.recent.list()
}

// Changed receives a value (coalesced) after the counts or the activity change, so a GUI
// can refresh on its own ticker without polling for nothing.
func (w *Watch) Changed() <-chan struct{} { return w.changed }

// Start runs the watch in the background until Stop; it is a no-op when already running.
func (w *Watch) Start() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel, w.done, w.err = cancel, make(chan struct{}), nil
	go func(done chan struct{}) {
		err := w.Run(ctx)
		w.mu.Lock()
		w.err = err
		w.mu.Unlock()
		close(done)
	}(w.done)
}

// Stop stops a watch started with Start, waits until the job in flight is finished or
// abandoned, and returns the error that ended it, if any.
func (w *Watch) Stop() error {
	w.mu.Lock()
	cancel, done := w.cancel, w.done
	w.mu.Unlock()
	if done == nil {
		return nil
	}
	cancel()
	<-done
	w.mu.Lock()
	defer w.mu.Unlock()
	w.cancel, w.done = nil, nil
	return w.err
}

// Running reports whether the watch was started and is not stopped.
func (w *Watch) Running() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.done != nil
}

// backoff is the pause before attempt n+1 (n ≥ 1) after n failures in a row: 1 s, doubling
// up to limit.
func (w *Watch) backoff(n int, limit time.Duration) time.Duration {
	unit := time.Second
	if w.testRetry > 0 {
		unit = w.testRetry
	}
	return min(unit<<min(max(n-1, 0), 10), limit/time.Second*unit)
}

// errBusy is returned by Run when the watch is already running.
var errBusy = errors.New("this hot folder is already running")

// Run watches until ctx ends (or, with Config.Once, until what In held is handled), then
// finishes or abandons the jobs in flight (nothing partial is left: outputs are written
// atomically, and an abandoned job is redone next time). It returns nil when ctx (or Once)
// ended it, or the error that kept it from running or going on.
func (w *Watch) Run(ctx context.Context) error {
	w.mu.Lock()
	if w.stats.State != Stopped {
		w.mu.Unlock()
		return errBusy
	}
	w.stats.State, w.stats.Problem = Starting, ""
	w.mu.Unlock()
	r, err := newRunner(w)
	if err != nil {
		w.update(func(s *Stats) { s.State, s.Problem = Stopped, err.Error() })
		w.log(Activity{Kind: KindProblem, Message: err.Error()})
		return err
	}
	err = r.loop(ctx)
	problem := ""
	if err != nil {
		problem = err.Error()
		w.log(Activity{Kind: KindProblem, Message: "stopped: " + problem})
	}
	w.update(func(s *Stats) { s.State, s.Problem, s.Waiting, s.Busy = Stopped, problem, 0, 0 })
	if w.cfg.Once && err == nil {
		w.log(Activity{Kind: KindInfo, Message: "went through " + quote.Name(w.cfg.In) + " once; stopping"})
	} else {
		w.log(Activity{Kind: KindInfo, Message: "stopped watching " + quote.Name(w.cfg.In)})
	}
	return err
}

// update changes the counts under the lock and signals Changed.
func (w *Watch) update(f func(*Stats)) {
	w.mu.Lock()
	f(&w.stats)
	w.mu.Unlock()
	w.signal()
}

// log adds an activity entry, hands it to OnActivity and signals Changed.
func (w *Watch) log(a Activity) {
	if a.Time.IsZero() {
		a.Time = time.Now()
	}
	w.mu.Lock()
	w.recent.add(a)
	w.mu.Unlock()
	if w.cfg.OnActivity != nil {
		w.cfg.OnActivity(a)
	}
	w.signal()
}

func (w *Watch) signal() {
	select {
	case w.changed <- struct{}{}:
	default:
	}
}
