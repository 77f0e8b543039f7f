package ui

import (
	"context"
	"fmt"
	"image"
	"path/filepath"
	"runtime/debug"
	"sync"

	"cutout/engine/matte"
)

// state is where a job is in its life.
type state int

const (
	stateWaiting    state = iota // queued
	stateValidating              // its file is being checked
	stateCutting                 // the model is running on it
	stateDone                    // cut out; the result is cached (or will be recomputed)
	stateFailed                  // refused or failed; reason says why
	stateCancelled               // stopped by the user
)

// String is the state as a queue row shows it.
func (s state) String() string {
	return [...]string{"waiting", "validating", "cutting out", "done", "failed", "cancelled"}[s]
}

// finishedState reports whether the job is no longer waiting or running.
func (s state) finished() bool { return s >= stateDone }

// job is one input file. Fields marked "list.mu" are shared with the workers; the rest
// belong to the UI goroutine.
type job struct {
	id   int
	path string
	name string

	state  state              // list.mu
	reason string             // list.mu: why it failed, as a sentence
	thumb  image.Image        // list.mu: the cut-out, small
	res    *result            // list.mu: the cached images, nil when not (or no longer) cached
	cancel context.CancelFunc // list.mu: stops the running cut
	used   uint64             // list.mu: when the result was last used, for eviction

	opts    matte.Options // the finishing options of this photo
	strokes strokes       // the brush strokes, in pixels of the display copy
	hints   *matte.Hints  // strokes rasterised at display size (nil: none)
	scale   float64       // display copy size / photo size, once known

	saved        string // the file its last export wrote ("" if never exported)
	savedVersion string // exportVersion of that export: edits since make it unsaved
}

// result is a finished cut: the photo at full size and the model's mask of it (made at full
// size only when an export needs it), as the backend returned them, and their display
// copies. A JPEG's photo stays in its Y′CbCr (1.5 bytes a pixel where NRGBA takes 4), so the
// cache holds more of them; it is converted when it is exported.
type result struct {
	cut  *Cutout
	disp displayCopy
}

// bytes is the memory a result holds.
func (r *result) bytes() int64 {
	n := r.cut.MaskBytes + int64(len(r.disp.mask.Pix))
	switch m := r.cut.Image.(type) {
	case *image.NRGBA:
		n += int64(len(m.Pix))
	case *image.YCbCr:
		n += int64(len(m.Y) + len(m.Cb) + len(m.Cr))
	}
	if r.disp.img != r.cut.Image {
		n += int64(len(r.disp.img.Pix))
	}
	return n
}

// usable says why what a Backend.Cut returned for the photo called name cannot be used, or
// nil.
func usable(c *Cutout, name string) error {
	if c == nil || c.Image == nil || c.Mask == nil || c.Image.Bounds().Empty() {
		return fmt.Errorf("the engine returned no usable image for %s; try again", name)
	}
	return nil
}

// fullMask is the mask at the photo's size.
func (c *Cutout) fullMask() *image.Gray {
	b := c.Image.Bounds()
	return c.Mask(b.Dx(), b.Dy())
}

// cutForPreview cuts out the photo at path and makes its display copy, the mask's at
// display size straight from the model's prediction.
func cutForPreview(ctx context.Context, b Backend, path, name string, validated func()) (*result, error) {
	c, err := b.Cut(ctx, path, validated)
	if err != nil || ctx.Err() != nil {
		return nil, err
	}
	if err := usable(c, name); err != nil {
		return nil, err
	}
	d, _ := reduceImage(c.Image, displaySide)
	d.mask = c.Mask(d.img.Rect.Dx(), d.img.Rect.Dy())
	if d.mask == nil || d.mask.Rect != d.img.Rect {
		return nil, fmt.Errorf("the engine returned no usable mask for %s; try again", name)
	}
	return &result{cut: c, disp: d}, nil
}

// FirstPreview is what the window does between a photo's drop and its first preview (the
// cut, the display copy), for benchmarks: it returns the display copy's image and mask.
func FirstPreview(ctx context.Context, b Backend, path string) (*image.NRGBA, *image.Gray, error) {
	r, err := cutForPreview(ctx, b, path, filepath.Base(path), nil)
	if err != nil {
		return nil, nil, err
	}
	return r.disp.img, r.disp.mask, nil
}

// cacheBudget bounds the memory of cached results: older ones are dropped and recomputed
// when needed again (about fifteen 12 MP photos fit).
const cacheBudget = 1 << 30

// workers is how many jobs are cut at once: one is read and decoded while another is in
// the model; more would only queue inside the engine.
const workers = 2

// jobList is the queue: every job the user added, the ones waiting, and the workers that
// run them. notify is called from any goroutine after a change (the UI batches it).
type jobList struct {
	b      Backend
	notify func()
	ctx    context.Context
	act    *activity // one unit per queued or running job

	mu      sync.Mutex
	cond    *sync.Cond
	all     []*job
	pending []*job
	nextID  int
	clock   uint64
	cached  int64
	keep    *job // never evicted: the selected job
	closed  bool
	wg      sync.WaitGroup
}

// newJobList starts the workers; they stop when ctx ends or close is called.
func newJobList(ctx context.Context, b Backend, act *activity, notify func()) *jobList {
	l := &jobList{b: b, notify: notify, ctx: ctx, act: act}
	l.cond = sync.NewCond(&l.mu)
	for i := 0; i < workers; i++ {
		l.wg.Add(1)
		go l.work()
	}
	context.AfterFunc(ctx, l.close)
	return l
}

// close stops the workers after their current job (which is cancelled through ctx).
func (l *jobList) close() {
	l.mu.Lock()
	l.closed = true
	l.cond.Broadcast()
	l.mu.Unlock()
}

// add queues one job per path, each with the finishing options opts.
func (l *jobList) add(paths []string, opts matte.Options) []*job {
	l.mu.Lock()
	defer l.mu.Unlock()
	jobs := make([]*job, len(paths))
	for i, p := range paths {
		l.nextID++
		j := &job{id: l.nextID, path: p, name: filepath.Base(p), opts: opts}
		jobs[i] = j
		l.all = append(l.all, j)
		l.queue(j, false)
	}
	l.cond.Broadcast()
	return jobs
}

// unknown returns the paths no job in the list has, and how many it left out.
func (l *jobList) unknown(paths []string) ([]string, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	have := make(map[string]bool, len(l.all))
	for _, j := range l.all {
		have[j.path] = true
	}
	var out []string
	for _, p := range paths {
		if !have[p] {
			have[p] = true
			out = append(out, p)
		}
	}
	return out, len(paths) - len(out)
}

// redoAll queues every finished job again, dropping its cached result; it returns how many.
func (l *jobList) redoAll() int {
	l.mu.Lock()
	n := 0
	for _, j := range l.all {
		if !j.state.finished() {
			continue
		}
		if j.res != nil {
			l.cached -= j.res.bytes()
			j.res = nil
		}
		j.state, j.reason, j.thumb = stateWaiting, "", nil
		l.queue(j, false)
		n++
	}
	l.mu.Unlock()
	l.notify()
	return n
}

// retryAll queues every failed or cancelled job again; it returns how many.
func (l *jobList) retryAll() int {
	l.mu.Lock()
	n := 0
	for _, j := range l.all {
		if j.state == stateFailed || j.state == stateCancelled {
			j.state, j.reason = stateWaiting, ""
			l.queue(j, false)
			n++
		}
	}
	l.mu.Unlock()
	l.notify()
	return n
}

// queue puts j in the pending list (first when urgent); l.mu is held.
func (l *jobList) queue(j *job, urgent bool) {
	l.act.add()
	if urgent {
		l.pending = append([]*job{j}, l.pending...)
	} else {
		l.pending = append(l.pending, j)
	}
	l.cond.Broadcast()
}

// work is one worker: it takes the next waiting job and runs it.
func (l *jobList) work() {
	defer l.wg.Done()
	for {
		l.mu.Lock()
		for len(l.pending) == 0 && !l.closed {
			l.cond.Wait()
		}
		if l.closed {
			l.mu.Unlock()
			return
		}
		j := l.pending[0]
		l.pending = l.pending[1:]
		if j.state != stateWaiting {
			l.mu.Unlock()
			l.act.done()
			continue
		}
		ctx, cancel := context.WithCancel(l.ctx)
		j.state, j.cancel = stateValidating, cancel
		l.mu.Unlock()
		l.notify()
		l.run(ctx, j)
		cancel()
		l.notify()
		l.act.done()
	}
}

// run cuts out one job and records how it ended.
func (l *jobList) run(ctx context.Context, j *job) {
	var res *result
	var thumb image.Image
	err := safely(func() error {
		var err error
		res, err = cutForPreview(ctx, l.b, j.path, j.name, func() {
			l.mu.Lock()
			if j.state == stateValidating {
				j.state = stateCutting
			}
			l.mu.Unlock()
			l.notify()
		})
		if err != nil || res == nil {
			return err
		}
		thumb = thumbnail(res.disp.img, res.disp.mask, thumbSide)
		return nil
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	j.cancel = nil
	switch {
	case ctx.Err() != nil || j.state == stateCancelled:
		j.state, j.reason = stateCancelled, ""
	case err != nil:
		j.state, j.reason = stateFailed, describe(err, j.name)
	default:
		j.state, j.reason, j.thumb = stateDone, "", thumb
		l.store(j, res)
	}
}

// store caches res for j and drops the least recently used results over the budget.
func (l *jobList) store(j *job, res *result) {
	l.clock++
	j.res, j.used = res, l.clock
	l.cached += res.bytes()
	for l.cached > cacheBudget {
		var old *job
		for _, o := range l.all {
			if o.res != nil && o != j && o != l.keep && (old == nil || o.used < old.used) {
				old = o
			}
		}
		if old == nil {
			return
		}
		l.cached -= old.res.bytes()
		old.res = nil
	}
}

// use returns j's cached result, marking it as recently used, or nil when it is not cached:
// then, if j is done, it is queued again (first) to recompute it. keep makes j the job
// whose result is never dropped.
func (l *jobList) use(j *job, keep bool) *result {
	l.mu.Lock()
	defer l.mu.Unlock()
	if keep {
		l.keep = j
	}
	if j.res != nil {
		l.clock++
		j.used = l.clock
		return j.res
	}
	if j.state == stateDone {
		j.state = stateWaiting
		l.queue(j, true)
	}
	return nil
}

// cancel stops j if it is waiting or running.
func (l *jobList) cancel(jobs ...*job) {
	l.mu.Lock()
	for _, j := range jobs {
		if j.state.finished() {
			continue
		}
		if j.cancel != nil {
			j.cancel()
		}
		j.state, j.reason = stateCancelled, ""
	}
	l.mu.Unlock()
	l.notify()
}

// cancelAll stops every job that is waiting or running.
func (l *jobList) cancelAll() {
	l.mu.Lock()
	all := append([]*job(nil), l.all...)
	for range l.pending {
		l.act.done()
	}
	l.pending = nil
	l.mu.Unlock()
	l.cancel(all...)
}

// retry queues a failed or cancelled job again.
func (l *jobList) retry(j *job) {
	l.mu.Lock()
	if j.state == stateFailed || j.state == stateCancelled {
		j.state, j.reason = stateWaiting, ""
		l.queue(j, false)
	}
	l.mu.Unlock()
	l.notify()
}

// clearFinished removes every finished job from the list but keep and those for which
// spare (called with l.mu held, with the job's state) reports true: unsaved work the user
// chose to keep.
func (l *jobList) clearFinished(keep *job, spare func(j *job, st state) bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	kept := l.all[:0]
	for _, j := range l.all {
		if !j.state.finished() || j == keep || spare(j, j.state) {
			kept = append(kept, j)
			continue
		}
		if j.res != nil {
			l.cached -= j.res.bytes()
			j.res = nil
		}
	}
	clear(l.all[len(kept):])
	l.all = kept
}

// counts summarises the queue.
type counts struct {
	total, done, failed, cancelled, running int
}

// finished is how many jobs have ended, one way or another.
func (c counts) finished() int { return c.done + c.failed + c.cancelled }

// snapshot returns the jobs in order and their counts.
func (l *jobList) snapshot() ([]*job, counts) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var c counts
	for _, j := range l.all {
		switch j.state {
		case stateDone:
			c.done++
		case stateFailed:
			c.failed++
		case stateCancelled:
			c.cancelled++
		case stateValidating, stateCutting:
			c.running++
		}
	}
	c.total = len(l.all)
	return append([]*job(nil), l.all...), c
}

// view returns the fields of j a row shows.
func (l *jobList) view(j *job) (state, string, image.Image) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return j.state, j.reason, j.thumb
}

// safely runs f, turning a panic into an error: a bug in finishing one photo must fail that
// photo, not close the window with everyone's work in it.
func safely(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("Cutout hit an internal error (%v); try again, and please report it with this text: %s",
				r, firstFrames(debug.Stack()))
		}
	}()
	return f()
}

// firstFrames keeps the top of a stack trace, enough to find the bug.
func firstFrames(stack []byte) string {
	s := string(stack)
	if len(s) > 600 {
		s = s[:600]
	}
	return s
}
