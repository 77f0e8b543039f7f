package app

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"path/filepath"
	"slices"
	"sync"

	"cutout/app/watch"
	"cutout/engine/infer"
	"cutout/engine/matte"
	"cutout/engine/validate"
	"cutout/internal/quote"
	"cutout/ui"
)

// hotFolders runs the window's hot folders (ui.HotFolders) on a watch.Manager. Every hot
// folder cuts out through the backend's engine (one engine process for the whole app) with
// the limits chosen in Settings, and writes with its own sink, never over a file.
type hotFolders struct {
	b       *backend
	m       watch.Manager
	sink    *Sink
	changed chan struct{}
	done    chan struct{} // closed by Close

	mu     sync.Mutex
	next   int
	items  []*hotItem
	closed bool
}

// hotItem is one hot folder: what the user chose, its watch, and the end of the goroutine
// that forwards its changes.
type hotItem struct {
	ui.HotFolder
	w    *watch.Watch
	quit chan struct{}
}

var _ ui.HotFolders = (*hotFolders)(nil)

// newHotFolders prepares the hot folders of the window whose backend is b.
func newHotFolders(b *backend) *hotFolders {
	return &hotFolders{b: b, sink: &Sink{Compression: png.BestSpeed}, changed: make(chan struct{}, 1), done: make(chan struct{})}
}

// List returns the hot folders in the order they were added.
func (h *hotFolders) List() []ui.HotFolder {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]ui.HotFolder, len(h.items))
	for i, it := range h.items {
		out[i] = it.HotFolder
	}
	return out
}

// Add creates the watch for c (starting it when c.Enabled).
func (h *hotFolders) Add(c ui.HotFolderConfig) (ui.HotFolder, error) {
	in, err := filepath.Abs(c.In)
	if err != nil || c.In == "" {
		return ui.HotFolder{}, fmt.Errorf("the hot folder %s could not be added: it is not a folder name", quote.Name(c.In))
	}
	out, err := filepath.Abs(c.Out)
	if err != nil || c.Out == "" {
		return ui.HotFolder{}, fmt.Errorf("the hot folder %s could not be added: %s is not a folder name for the cut-outs", quote.Name(in), quote.Name(c.Out))
	}
	c.In, c.Out = in, out
	orig := watch.Keep
	if c.MoveOriginals {
		orig = watch.Move
	}
	mo := matte.DefaultOptionsFor(c.Refine)
	if err := mo.Validate(); err != nil {
		return ui.HotFolder{}, fmt.Errorf("the hot folder %s could not be added: %s", quote.Name(in), quote.Text(err.Error()))
	}
	outFmt, err := outputFor(c.Format, c.Frame)
	if err != nil {
		return ui.HotFolder{}, fmt.Errorf("the hot folder %s could not be added: %s", quote.Name(in), quote.Text(err.Error()))
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return ui.HotFolder{}, fmt.Errorf("the hot folder %s could not be added: Cutout is closing", quote.Name(in))
	}
	for _, it := range h.items {
		if filepath.Clean(it.Out) == filepath.Clean(out) {
			return ui.HotFolder{}, fmt.Errorf("the output folder %s already receives the cut-outs of the hot folder %s; "+
				"choose another output folder for %s (one output folder serves one hot folder)", quote.Name(out), quote.Name(it.In), quote.Name(in))
		}
	}
	w, err := h.m.Add(watch.Config{In: in, Out: out, Recursive: c.Recursive, Originals: orig,
		Handler: h.handler(in, out, mo, outFmt), Extensions: validate.Extensions(), OutputExt: outFmt.Ext(),
		MaxHash: h.b.limits().MaxBytes + 1})
	if err != nil {
		return ui.HotFolder{}, fmt.Errorf("the hot folder %s could not be added: %s", quote.Name(in), quote.Text(err.Error()))
	}
	h.next++
	it := &hotItem{HotFolder: ui.HotFolder{ID: h.next, HotFolderConfig: c}, w: w, quit: make(chan struct{})}
	h.items = append(h.items, it)
	go h.forward(it)
	if c.Enabled {
		w.Start()
	}
	h.signal()
	return it.HotFolder, nil
}

// Remove stops the hot folder id (waiting for the photo in flight) and forgets it.
func (h *hotFolders) Remove(id int) error {
	h.mu.Lock()
	i := slices.IndexFunc(h.items, func(it *hotItem) bool { return it.ID == id })
	if i < 0 {
		h.mu.Unlock()
		return nil
	}
	it := h.items[i]
	h.items = slices.Delete(h.items, i, i+1)
	h.mu.Unlock()
	close(it.quit)
	h.m.Remove(it.w) // an error that ended the run no longer matters: it is forgotten
	h.signal()
	return nil
}

// SetEnabled starts or stops the hot folder id. Switching on again a watch that stopped by
// itself (its output folder could not be written, say) restarts it.
func (h *hotFolders) SetEnabled(id int, on bool) error {
	it := h.item(id)
	if it == nil {
		return fmt.Errorf("that hot folder was removed meanwhile")
	}
	h.mu.Lock()
	it.Enabled = on
	h.mu.Unlock()
	defer h.signal()
	if !on {
		it.w.Stop() // an error that ended the run is in its Stats and activity already
		return nil
	}
	if it.w.Running() && it.w.Stats().State != watch.Stopped {
		return nil
	}
	it.w.Stop() // a watch whose run ended by itself still counts as started
	it.w.Start()
	return nil
}

// Stats returns the live state and counts of the hot folder id.
func (h *hotFolders) Stats(id int) ui.HotFolderStats {
	it := h.item(id)
	if it == nil {
		return ui.HotFolderStats{}
	}
	s := it.w.Stats()
	st := ui.HotStopped
	switch s.State {
	case watch.Starting:
		st = ui.HotStarting
	case watch.Watching:
		st = ui.HotWatching
	case watch.Missing:
		st = ui.HotMissing
	}
	h.mu.Lock()
	if !it.Enabled && st == ui.HotStopped {
		s.Problem = "" // switched off on purpose: what stopped an earlier run is in the activity
	}
	h.mu.Unlock()
	return ui.HotFolderStats{State: st, Problem: s.Problem, Seen: s.Seen, Done: s.Done, Failed: s.Failed,
		Skipped: s.Skipped, Waiting: s.Waiting + s.Busy}
}

// Recent returns the recent activity of the hot folder id, oldest first.
func (h *hotFolders) Recent(id int) []ui.HotActivity {
	it := h.item(id)
	if it == nil {
		return nil
	}
	rec := it.w.Recent()
	out := make([]ui.HotActivity, len(rec))
	for i, a := range rec {
		out[i] = ui.HotActivity{Time: a.Time, Outcome: a.Kind.String(), File: a.Path, Output: a.Output, Message: a.Message}
	}
	return out
}

// Changed receives a value after any hot folder changed.
func (h *hotFolders) Changed() <-chan struct{} { return h.changed }

// Close stops every hot folder (they stay remembered by the window) and waits for them; call
// it before the backend's Close, whose engine they use.
func (h *hotFolders) Close() {
	h.mu.Lock()
	was := h.closed
	h.closed = true
	h.mu.Unlock()
	h.m.StopAll()
	if !was {
		close(h.done)
	}
}

func (h *hotFolders) item(id int) *hotItem {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, it := range h.items {
		if it.ID == id {
			return it
		}
	}
	return nil
}

// forward passes its changes on to Changed until it is removed.
func (h *hotFolders) forward(it *hotItem) {
	for {
		select {
		case <-it.w.Changed():
			h.signal()
		case <-it.quit:
			return
		case <-h.done:
			return
		}
	}
}

func (h *hotFolders) signal() {
	select {
	case h.changed <- struct{}{}:
	default:
	}
}

// handler cuts out one photo of the hot folder in → out: the pipeline of WatchHandler on
// the backend's current engine and limits, with failures turned into sentences for people.
func (h *hotFolders) handler(in, out string, mo matte.Options, outFmt Output) watch.Handler {
	return func(ctx context.Context, j watch.Job) (string, error) {
		p := &Processor{Engine: sharedEngine{h.b}, Limits: h.b.limits(), Roots: []string{in}, Matte: mo, Output: outFmt, Sink: h.sink, OutDir: out}
		res, err := WatchHandler(p)(ctx, j)
		if err == nil || ctx.Err() != nil {
			return res, err
		}
		if errors.Is(err, watch.ErrRetry) {
			return "", watch.Retry(userError(j.Path, err))
		}
		return "", userError(j.Path, err)
	}
}

// sharedEngine is the backend's current engine (it changes when Settings change), used by
// the hot folders; closing it is the backend's business.
type sharedEngine struct{ b *backend }

// Cut runs the backend's current engine, holding it so that a replaced engine is closed
// only after this cut.
func (s sharedEngine) Cut(ctx context.Context, name string, data []byte) (*infer.Result, error) {
	eng, release := s.b.acquire()
	if eng == nil {
		return nil, fmt.Errorf("%s: %w (Cutout is closing or its settings are broken)", quote.Name(filepath.Base(name)), ErrEngineStart)
	}
	defer release()
	return eng.Cut(ctx, name, data)
}

// Close does nothing: the backend closes its engine.
func (sharedEngine) Close() error { return nil }

// outputFor is the Output of the window's choices (a hot folder's, or the export's): the
// same that `cutout watch --format … --crop …` makes.
func outputFor(format, frame string) (Output, error) {
	o, err := ParseOutput(format, 0)
	if err != nil {
		return o, err
	}
	switch frame {
	case "":
	case "crop":
		o.Frame = Frame{Crop: true}
	case "square":
		o.Frame = Frame{Crop: true, MarginPct: 5, Canvas: image.Pt(2000, 2000)}
	default:
		return o, fmt.Errorf("unknown framing %q", frame)
	}
	return o, nil
}
