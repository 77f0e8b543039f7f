package ui

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"cutout/engine/matte"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

// buttonIn finds the button labelled text among the canvas's overlays (dialogs).
func buttonIn(c fyne.Canvas, text string) *widget.Button {
	for _, o := range overlayObjects(c) {
		if b, ok := o.(*widget.Button); ok && b.Text == text {
			return b
		}
	}
	return nil
}

// Saved work is marked; saving again replaces the photo's own export; "Clear finished" asks
// before it drops cut-outs that were never saved, and "Keep unsaved" keeps them.
func TestNoLostWork(t *testing.T) {
	h := newHarness(t, &fakeBackend{}, nil)
	out := t.TempDir()
	h.u.set.OutDir = out
	h.drop(photos(t, t.TempDir(), "a.jpg", "b.jpg", "c.jpg")...)
	row := func(name string) string {
		for _, r := range h.rowTexts() {
			if strings.Contains(r, " "+name+": ") {
				return r
			}
		}
		return ""
	}
	// Export a.jpg (the selected photo is the last dropped: select a first).
	jobs, _ := h.u.jobs.snapshot()
	h.ui(func() { h.u.onSelect(jobs[0]) })
	h.wait()
	h.ui(h.u.onSave)
	h.wait()
	if !h.u.isSaved(jobs[0]) {
		t.Fatal("a.jpg is not marked saved after Save")
	}
	h.ui(func() { h.u.queue.update() })
	var st string
	h.ui(func() {
		o := newQueueRow()
		h.u.queue.updateRow(h.u.queue.indexOf(jobs[0]), o)
		st = o.(*queueRow).state.Text
	})
	if st != "done · saved" {
		t.Errorf("a.jpg's row says %q, want done · saved", st)
	}
	// A change, then Save again: the same file is replaced, no "a (1).png".
	h.ui(func() { h.u.matte.shift.slider.SetValue(-4) })
	h.wait()
	if h.u.isSaved(jobs[0]) {
		t.Error("a.jpg still counts as saved after its options changed")
	}
	h.ui(h.u.onSave)
	h.wait()
	entries, _ := os.ReadDir(out)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"a.png"}) {
		t.Errorf("after saving twice the folder holds %v, want a.png alone", names)
	}

	// Select c (b stays unsaved, a saved), then Clear finished: it asks.
	h.ui(func() { h.u.onSelect(jobs[2]) })
	h.wait()
	h.ui(h.u.queue.onClear)
	keep := buttonIn(h.win.Canvas(), "Keep unsaved")
	if keep == nil {
		t.Fatal("Clear finished dropped unsaved cut-outs without asking")
	}
	h.ui(func() { test.Tap(keep) })
	h.wait()
	if row("a.jpg") != "" || row("b.jpg") == "" || row("c.jpg") == "" {
		t.Errorf("after Keep unsaved the rows are %v: want b (unsaved) and c (selected), not a (saved)", h.rowTexts())
	}
	// Asked again, "Clear them too" drops b; c stays, being selected.
	h.ui(h.u.queue.onClear)
	all := buttonIn(h.win.Canvas(), "Clear them too")
	if all == nil {
		t.Fatal("no question the second time")
	}
	h.ui(func() { test.Tap(all) })
	h.wait()
	if rows := h.rowTexts(); len(rows) != 1 || !strings.Contains(rows[0], "c.jpg") {
		t.Errorf("after Clear them too: %v", rows)
	}
}

// Save and Export all are enabled only with something to save; Export all writes into the
// export folder of Settings without asking; dropping the same photos twice adds them once;
// Retry failed queues every failed photo again.
func TestQueueConveniences(t *testing.T) {
	b := &fakeBackend{fail: map[string]error{"huge.png": errRefused}}
	h := newHarness(t, b, nil)
	if !h.u.saveBtn.Disabled() || !h.u.exportBtn.Disabled() || !h.u.queue.retry.Disabled() {
		t.Error("Save, Export all or Retry failed is enabled with no photos")
	}
	out := t.TempDir()
	h.u.set.OutDir = out
	files := photos(t, t.TempDir(), "a.jpg", "b.jpg", "huge.png")
	h.drop(files...)
	h.drop(files...)
	if rows := h.rowTexts(); len(rows) != 3 {
		t.Fatalf("the same three photos dropped twice gave %d rows: %v", len(rows), rows)
	}
	if !strings.Contains(h.u.status.Text, "3 already in the list") {
		t.Errorf("status %q does not say the photos were there already", h.u.status.Text)
	}
	if h.u.exportBtn.Disabled() || h.u.queue.retry.Disabled() {
		t.Error("Export all or Retry failed is disabled with photos done and one failed")
	}
	h.ui(h.u.onExportAll)
	h.wait()
	entries, _ := os.ReadDir(out)
	if len(entries) != 2 {
		t.Errorf("Export all wrote %d files into the export folder, want 2 (no dialog)", len(entries))
	}
	b.mu.Lock()
	delete(b.fail, "huge.png")
	b.mu.Unlock()
	h.ui(h.u.queue.retry.OnTapped)
	h.wait()
	for _, r := range h.rowTexts() {
		if !strings.HasSuffix(r, ": done") {
			t.Errorf("after Retry failed: %s", r)
		}
	}
}

// Escape closes the top dialog as Cancel would: Settings, the Clear question (nothing is
// cleared), an error.
func TestEscapeClosesDialogs(t *testing.T) {
	h := newHarness(t, &fakeBackend{}, nil)
	h.drop(photos(t, t.TempDir(), "a.jpg", "b.jpg")...)
	escape := func() { h.ui(func() { h.win.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyEscape}) }) }
	open := func() int { return len(h.win.Canvas().Overlays().List()) }
	h.ui(h.u.onSettings)
	if open() == 0 {
		t.Fatal("Settings did not open")
	}
	escape()
	if open() != 0 {
		t.Error("Escape did not close Settings")
	}
	h.ui(h.u.queue.onClear) // two unsaved cut-outs (one selected): it asks
	if open() == 0 {
		t.Fatal("Clear finished did not ask")
	}
	escape()
	if open() != 0 || len(h.rowTexts()) != 2 {
		t.Errorf("after Escape on the question: %d dialogs open, rows %v (want none cleared)", open(), h.rowTexts())
	}
}

// Settings' "Export as" and "Framing" reach Save (the file gets the format's extension) and
// are remembered; a photo saved as JPEG is unsaved again once WebP is chosen.
func TestExportFormatSetting(t *testing.T) {
	h := newHarness(t, &fakeBackend{}, nil)
	out := t.TempDir()
	h.u.set.OutDir = out
	h.drop(photos(t, t.TempDir(), "a.jpg")...)
	h.ui(func() {
		p := newSettingsPanel(h.u)
		p.format.SetSelected("JPEG on white")
		p.frame.SetSelected(frameChoices[1])
		s, err := p.read()
		if err != nil {
			t.Fatal(err)
		}
		h.u.applySettings(s)
	})
	h.wait()
	if got := loadSettings(h.u.prefs, EngineSettings{}).Export; got != (ExportFormat{Format: "jpeg", Frame: "crop"}) {
		t.Errorf("remembered %+v", got)
	}
	h.ui(h.u.onSave)
	h.wait()
	if _, err := os.Stat(filepath.Join(out, "a.jpg")); err != nil {
		t.Fatalf("Save did not write a.jpg: %v", err)
	}
	jobs, _ := h.u.jobs.snapshot()
	if !h.u.isSaved(jobs[0]) {
		t.Error("not saved after Save")
	}
	h.u.set.Export.Format = "webp"
	if h.u.isSaved(jobs[0]) {
		t.Error("still counted as saved in another format")
	}
}

// Switching photos shows the new one fitted, and the zoom label says so, not the previous
// photo's zoom.
func TestZoomLabelFollowsThePhoto(t *testing.T) {
	h := newHarness(t, &fakeBackend{}, nil)
	h.drop(photos(t, t.TempDir(), "a.jpg", "b.jpg")...)
	jobs, _ := h.u.jobs.snapshot()
	h.ui(func() { h.u.onSelect(jobs[0]) })
	h.wait()
	h.ui(func() { h.u.preview.view.setZoom(h.u.preview.view.zoom*3, nil) })
	h.wait()
	if got := h.u.preview.zoomLabel.Text; got == "Fit" {
		t.Fatalf("after zooming in the label still says %q", got)
	}
	h.ui(func() { h.u.onSelect(jobs[1]) })
	h.wait()
	if got := h.u.preview.zoomLabel.Text; got != "Fit" {
		t.Errorf("after switching photos the zoom label says %q, want Fit", got)
	}
}

// Up and Down (and Page Up, Page Down, Home, End) move between photos when no widget or
// dialog takes the keys.
func TestKeysMoveBetweenPhotos(t *testing.T) {
	h := newHarness(t, &fakeBackend{}, nil)
	names := make([]string, 12)
	for i := range names {
		names[i] = fmt.Sprintf("p%02d.jpg", i)
	}
	h.drop(photos(t, t.TempDir(), names...)...)
	key := func(k fyne.KeyName) string {
		h.ui(func() { h.win.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: k}) })
		h.wait()
		return h.u.selected.name
	}
	jobs, _ := h.u.jobs.snapshot()
	h.ui(func() { h.u.queue.list.Select(h.u.queue.indexOf(jobs[0])) })
	h.wait()
	for _, step := range []struct {
		k    fyne.KeyName
		want string
	}{{fyne.KeyDown, "p01.jpg"}, {fyne.KeyDown, "p02.jpg"}, {fyne.KeyUp, "p01.jpg"}, {fyne.KeyPageDown, "p11.jpg"},
		{fyne.KeyDown, "p11.jpg"}, {fyne.KeyHome, "p00.jpg"}, {fyne.KeyUp, "p00.jpg"}, {fyne.KeyEnd, "p11.jpg"}, {fyne.KeyPageUp, "p01.jpg"}} {
		if got := key(step.k); got != step.want {
			t.Fatalf("after %s the photo shown is %s, want %s", step.k, got, step.want)
		}
	}
}

// Edit → Cut Out All Again cuts every finished photo out again (after a change of model, say).
func TestRedoAll(t *testing.T) {
	b := &fakeBackend{}
	h := newHarness(t, b, nil)
	h.drop(photos(t, t.TempDir(), "a.jpg", "b.jpg")...)
	b.mu.Lock()
	before := b.cuts
	b.mu.Unlock()
	h.ui(h.u.onRedoAll)
	h.wait()
	b.mu.Lock()
	after := b.cuts
	b.mu.Unlock()
	if after-before != 2 {
		t.Errorf("%d cuts after Cut Out All Again, want 2", after-before)
	}
	for _, r := range h.rowTexts() {
		if !strings.HasSuffix(r, ": done") {
			t.Errorf("after redoing: %s", r)
		}
	}
}

// The edge-colour strength is a control of the panel: it reaches the photo's options and is
// enabled only while the colours are fixed.
func TestEdgeColourStrengthControl(t *testing.T) {
	h := newHarness(t, &fakeBackend{}, nil)
	h.drop(photos(t, t.TempDir(), "a.jpg")...)
	m := h.u.matte
	h.ui(func() {
		m.refine.SetSelected(refineLabels[matte.RefineClosedForm]) // turns the colour fix on
	})
	h.wait()
	if m.strength.slider.Disabled() {
		t.Fatal("the strength is disabled with the colours fixed")
	}
	h.ui(func() { m.strength.slider.SetValue(40) })
	h.wait()
	if got := h.u.selected.opts.EdgeColourStrength; got != 0.4 {
		t.Errorf("the photo's strength is %v, want 0.4", got)
	}
	h.ui(func() { m.colours.SetChecked(false) })
	h.wait()
	if !m.strength.slider.Disabled() {
		t.Error("the strength stays enabled with the colours not fixed")
	}
}
