package ui

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"cutout/engine/matte"
)

// fakeHot stands in for the app's hot folders: it keeps the list, records the calls, refuses
// a shared output folder, and reports the stats and activity a test sets.
type fakeHot struct {
	mu      sync.Mutex
	next    int
	list    []HotFolder
	started map[int]bool
	calls   []string
	stats   map[int]HotFolderStats
	recent  map[int][]HotActivity
	changed chan struct{}
}

func newFakeHot() *fakeHot {
	return &fakeHot{started: map[int]bool{}, stats: map[int]HotFolderStats{}, recent: map[int][]HotActivity{},
		changed: make(chan struct{}, 1)}
}

func (f *fakeHot) List() []HotFolder {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]HotFolder(nil), f.list...)
}

func (f *fakeHot) Add(c HotFolderConfig) (HotFolder, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, o := range f.list {
		if o.Out == c.Out {
			return HotFolder{}, fmt.Errorf("the output folder %s already receives the cut-outs of the hot folder %s", c.Out, o.In)
		}
	}
	f.next++
	h := HotFolder{ID: f.next, HotFolderConfig: c}
	f.list = append(f.list, h)
	f.started[h.ID] = c.Enabled
	f.calls = append(f.calls, fmt.Sprintf("add %s enabled=%v", filepath.Base(c.In), c.Enabled))
	return h, nil
}

func (f *fakeHot) Remove(id int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, h := range f.list {
		if h.ID == id {
			f.list = append(f.list[:i], f.list[i+1:]...)
		}
	}
	f.calls = append(f.calls, fmt.Sprintf("remove %d", id))
	return nil
}

func (f *fakeHot) SetEnabled(id int, on bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.list {
		if f.list[i].ID == id {
			f.list[i].Enabled = on
		}
	}
	f.started[id] = on
	f.calls = append(f.calls, fmt.Sprintf("enable %d %v", id, on))
	return nil
}

func (f *fakeHot) Stats(id int) HotFolderStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stats[id]
}

func (f *fakeHot) Recent(id int) []HotActivity {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]HotActivity(nil), f.recent[id]...)
}

func (f *fakeHot) Changed() <-chan struct{} { return f.changed }

func (f *fakeHot) callLog() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.calls, "; ")
}

// hotHarness is the window with the fake hot folders set.
func hotHarness(t *testing.T, prefs fyne.Preferences) (*harness, *fakeHot) {
	t.Helper()
	h := newHarness(t, &fakeBackend{}, prefs)
	f := newFakeHot()
	h.ui(func() { h.u.SetHotFolders(f) })
	h.wait()
	return h, f
}

// hotRow renders row i as the list would and returns its texts and switch.
func (h *harness) hotRow(i int) (on *widget.Check, paths, state, detail string) {
	h.t.Helper()
	var c *widget.Check
	h.ui(func() {
		o := h.u.hot.newRow()
		h.u.hot.updateRow(i, o)
		var p, s, d *widget.Label
		c, p, s, d = rowParts(o)
		paths, state, detail = p.Text, s.Text, d.Text
	})
	return c, paths, state, detail
}

// eventually waits until cond (run as the UI goroutine would) holds.
func (h *harness) eventually(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ok := false
		h.ui(func() { ok = cond() })
		if ok {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Adding a hot folder shows a row with IN → OUT and its switch on, and remembers it.
func TestHotAddShowsRow(t *testing.T) {
	h, f := hotHarness(t, nil)
	in, out := t.TempDir(), t.TempDir()
	h.ui(func() {
		if !h.u.hot.empty.Visible() {
			t.Error("the empty hint is not shown before any hot folder is added")
		}
		h.u.hot.add(HotFolderConfig{In: in, Out: out, Recursive: true, Refine: matte.RefineGuided, Format: "webp", Frame: "crop", Enabled: true})
	})
	h.wait()
	if n := len(h.u.hot.rows); n != 1 {
		t.Fatalf("rows = %d, want 1", n)
	}
	on, paths, _, detail := h.hotRow(0)
	if want := in + "  →  " + out; paths != want || !on.Checked {
		t.Errorf("row shows %q (switch %v), want %q switched on", paths, on.Checked, want)
	}
	if !strings.Contains(detail, "seen 0 · done 0 · failed 0 · waiting 0") {
		t.Errorf("row counts %q", detail)
	}
	if h.u.hot.empty.Visible() || h.u.hot.remove.Disabled() {
		t.Error("the empty hint stays, or Remove is not enabled for the new, selected row")
	}
	if got := f.callLog(); got != "add "+filepath.Base(in)+" enabled=true" {
		t.Errorf("calls: %s", got)
	}
	saved := loadHotFolders(h.u.prefs)
	if len(saved) != 1 || saved[0].In != in || saved[0].Out != out || !saved[0].Recursive || saved[0].Refine != matte.RefineGuided ||
		saved[0].Format != "webp" || saved[0].Frame != "crop" {
		t.Errorf("remembered %+v", saved)
	}
	// A second hot folder into the same output folder is refused with a sentence.
	h.ui(func() {
		if err := h.u.hot.check(HotFolderConfig{In: in, Out: out}); err == nil || !strings.Contains(err.Error(), out) {
			t.Errorf("a shared output folder is not refused: %v", err)
		}
	})
	h.ui(func() { h.u.hot.add(HotFolderConfig{In: t.TempDir(), Out: out}) })
	h.wait()
	if st := h.u.status.Text; !strings.HasPrefix(st, "The output folder "+out+" already receives") || !strings.HasSuffix(st, ".") {
		t.Errorf("status after a refused output folder: %q", st)
	}
	if n := len(h.u.hot.rows); n != 1 {
		t.Errorf("rows = %d after a refused add", n)
	}
}

// Toggling a row's switch calls SetEnabled, and the choice is remembered; Remove forgets it.
func TestHotSwitchCallsSetEnabled(t *testing.T) {
	h, f := hotHarness(t, nil)
	in, out := t.TempDir(), t.TempDir()
	h.ui(func() { h.u.hot.add(HotFolderConfig{In: in, Out: out, Enabled: true}) })
	h.wait()
	on, _, _, _ := h.hotRow(0)
	h.ui(func() { test.Tap(on) })
	h.wait()
	if got := f.callLog(); !strings.HasSuffix(got, "enable 1 false") {
		t.Fatalf("calls: %s", got)
	}
	if saved := loadHotFolders(h.u.prefs); len(saved) != 1 || saved[0].Enabled {
		t.Errorf("remembered %+v, want it switched off", saved)
	}
	if on, _, _, _ := h.hotRow(0); on.Checked {
		t.Error("the switch shows on after switching off")
	}
	h.ui(func() { h.u.hot.removeFolder(1) })
	h.wait()
	if len(h.u.hot.rows) != 0 || len(loadHotFolders(h.u.prefs)) != 0 || !strings.HasSuffix(f.callLog(), "remove 1") {
		t.Errorf("after Remove: rows %d, calls %s", len(h.u.hot.rows), f.callLog())
	}
}

// Counts, state and activity follow the hot folder after its Changed signal.
func TestHotCountsFollowChanged(t *testing.T) {
	h, f := hotHarness(t, nil)
	h.ui(func() { h.u.hot.add(HotFolderConfig{In: t.TempDir(), Out: t.TempDir(), Enabled: true}) })
	h.wait()
	at := time.Date(2025, 5, 1, 14, 3, 9, 0, time.Local)
	f.mu.Lock()
	f.stats[1] = HotFolderStats{State: HotWatching, Seen: 3, Done: 1, Failed: 1, Waiting: 1}
	f.recent[1] = []HotActivity{
		{Time: at, Outcome: "done", File: "coffee.jpg", Output: "coffee.png"},
		{Time: at.Add(time.Second), Outcome: "failed", File: "huge.png", Message: `refused: "huge.png" is too large`},
	}
	f.mu.Unlock()
	f.changed <- struct{}{}
	h.eventually("the counts update", func() bool { return h.u.hot.stats[1].Done == 1 && len(h.u.hot.recent) == 2 })
	_, _, state, detail := h.hotRow(0)
	if state != "Watching" || detail != "seen 3 · done 1 · failed 1 · waiting 1" {
		t.Errorf("row: %q %q", state, detail)
	}
	var lines []string
	h.ui(func() {
		for i := range h.u.hot.recent {
			o := h.u.hot.newActivityRow()
			h.u.hot.updateActivityRow(i, o)
			row := o.(*fyne.Container)
			left := row.Objects[1].(*fyne.Container)
			cell := func(i int) string { return left.Objects[i].(*fyne.Container).Objects[0].(*widget.Label).Text }
			lines = append(lines, cell(0)+" "+cell(1)+" "+row.Objects[0].(*widget.Label).Text)
		}
	})
	want := []string{`14:03:10 failed Refused: "huge.png" is too large.`, "14:03:09 done coffee.jpg → coffee.png"}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("activity (newest first):\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	// A missing folder shows its state and the problem as a sentence.
	f.mu.Lock()
	f.stats[1] = HotFolderStats{State: HotMissing, Problem: "the folder /x is gone; waiting for it to come back"}
	f.mu.Unlock()
	f.changed <- struct{}{}
	h.eventually("the state updates", func() bool { return h.u.hot.stats[1].State == HotMissing })
	if _, _, state, detail := h.hotRow(0); state != "Folder missing" || !strings.HasSuffix(detail, "— The folder /x is gone; waiting for it to come back.") {
		t.Errorf("row: %q %q", state, detail)
	}
}

// The remembered hot folders come back after a restart, and those that were on start again.
func TestHotResumeAfterRestart(t *testing.T) {
	prefs := test.NewTempApp(t).Preferences()
	in1, in2 := t.TempDir(), t.TempDir()
	{
		h, _ := hotHarness(t, prefs)
		h.ui(func() { h.u.hot.add(HotFolderConfig{In: in1, Out: t.TempDir(), MoveOriginals: true, Enabled: true}) })
		h.wait()
		h.ui(func() { h.u.hot.add(HotFolderConfig{In: in2, Out: t.TempDir(), Refine: matte.RefineClosedForm}) })
		h.wait()
		h.u.Close()
	}
	h, f := hotHarness(t, prefs)
	want := fmt.Sprintf("add %s enabled=true; add %s enabled=false", filepath.Base(in1), filepath.Base(in2))
	if got := f.callLog(); got != want {
		t.Fatalf("after the restart: %s\nwant %s", got, want)
	}
	if !f.started[1] || f.started[2] {
		t.Errorf("started: %v, want only the first", f.started)
	}
	list := f.List()
	if !list[0].MoveOriginals || list[1].Refine != matte.RefineClosedForm {
		t.Errorf("options lost: %+v", list)
	}
	if len(h.u.hot.rows) != 2 {
		t.Errorf("rows = %d after the restart", len(h.u.hot.rows))
	}
}

// overlayObjects lists every object in the canvas's overlays (the open dialogs).
func overlayObjects(c fyne.Canvas) []fyne.CanvasObject {
	var out []fyne.CanvasObject
	var walk func(o fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		if o == nil {
			return
		}
		out = append(out, o)
		switch v := o.(type) {
		case *fyne.Container:
			for _, k := range v.Objects {
				walk(k)
			}
		case fyne.Widget:
			for _, k := range test.WidgetRenderer(v).Objects() {
				walk(k)
			}
		}
	}
	for _, o := range c.Overlays().List() {
		walk(o)
	}
	return out
}

// The Add dialog offers the format and the framing, and the hot folder gets them.
func TestHotAddDialogOutputOptions(t *testing.T) {
	h, f := hotHarness(t, nil)
	in, out := t.TempDir(), t.TempDir()
	h.ui(h.u.hot.onAdd)
	var entries []*widget.Entry
	var selects []*widget.Select
	for _, o := range overlayObjects(h.win.Canvas()) {
		switch v := o.(type) {
		case *widget.Entry:
			entries = append(entries, v)
		case *widget.Select:
			selects = append(selects, v)
		}
	}
	if len(entries) < 2 || len(selects) != 3 {
		t.Fatalf("the dialog has %d entries and %d choices, want 2 folders and edges, format, framing", len(entries), len(selects))
	}
	h.ui(func() {
		entries[0].SetText(in)
		entries[1].SetText(out)
		selects[1].SetSelected("JPEG on white")
		selects[2].SetSelected(frameChoices[2])
	})
	add := buttonIn(h.win.Canvas(), "Add")
	if add == nil {
		t.Fatal("no Add button")
	}
	h.ui(func() { test.Tap(add) })
	h.wait()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.list) != 1 || f.list[0].Format != "jpeg" || f.list[0].Frame != "square" {
		t.Errorf("the hot folder got %+v", f.list)
	}
}
