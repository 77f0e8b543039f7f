package ui

import (
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"

	"cutout/engine/matte"
)

// Dropping files and a folder adds one row per photo; each is cut out, gets a thumbnail,
// and the count and progress bar say so.
func TestDropAddsRows(t *testing.T) {
	h := newHarness(t, &fakeBackend{}, nil)
	dir := t.TempDir()
	files := photos(t, dir, "a.jpg", "b.png", "shoot/c.jpg", "shoot/d.png", "shoot/notes.txt")
	h.drop(files[0], files[1], filepath.Join(dir, "shoot"))
	h.wait()
	if got := len(h.u.queue.rows); got != 4 {
		t.Fatalf("rows = %d, want 4: %v", got, h.rowTexts())
	}
	for _, j := range h.u.queue.rows {
		st, _, thumb := h.u.jobs.view(j)
		if st != stateDone || thumb == nil {
			t.Errorf("%s: state %v, thumbnail %v", j.name, st, thumb != nil)
		}
	}
	if got := h.u.queue.count.Text; got != "4 of 4 done" {
		t.Errorf("count = %q", got)
	}
	if got := h.u.queue.progress.Value; got != 1 {
		t.Errorf("progress = %v", got)
	}
	if h.u.selected != h.u.queue.rows[0] || h.u.preview.out == nil {
		t.Errorf("the first photo is not selected and previewed")
	}
}

// A refused file shows its reason in its row and in the preview, as a sentence.
func TestFailedJobShowsReason(t *testing.T) {
	b := &fakeBackend{fail: map[string]error{"huge.png": errRefused}}
	h := newHarness(t, b, nil)
	files := photos(t, t.TempDir(), "ok.png", "huge.png")
	h.drop(files...)
	row := newQueueRow().(*queueRow)
	h.ui(func() { h.u.queue.updateRow(1, row) })
	want := "Refused: \"huge.png\" claims 100000 × 100000 pixels, the limit is 16384 × 16384. Make the image smaller, or raise the limit in Settings."
	if row.state.Text != want {
		t.Errorf("row says %q\nwant      %q", row.state.Text, want)
	}
	if !row.action.Visible() {
		t.Error("a failed row has no retry button")
	}
	h.ui(func() { h.u.queue.list.Select(1) })
	h.wait()
	if got := h.u.preview.msgText.Text; got != want {
		t.Errorf("preview says %q", got)
	}
	if got := h.u.queue.count.Text; got != "1 of 2 done · 1 failed" {
		t.Errorf("count = %q", got)
	}
}

// A cut-out whose mask does not fit its photo fails its job with a sentence, and the window
// goes on.
func TestMismatchedMaskFailsTheJob(t *testing.T) {
	h := newHarness(t, &fakeBackend{badMask: true}, nil)
	h.drop(photos(t, t.TempDir(), "odd.png")...)
	row := newQueueRow().(*queueRow)
	h.ui(func() { h.u.queue.updateRow(0, row) })
	if !strings.Contains(row.state.Text, "odd.png") || !strings.Contains(row.state.Text, "no usable mask") {
		t.Errorf("row says %q", row.state.Text)
	}
	if got := h.u.queue.count.Text; got != "0 of 1 done · 1 failed" {
		t.Errorf("count = %q", got)
	}
}

// Moving a slider re-finishes the preview from the cached mask: the image changes, the
// model does not run again.
func TestSliderChangesPreview(t *testing.T) {
	b := &fakeBackend{}
	h := newHarness(t, b, nil)
	h.drop(photos(t, t.TempDir(), "a.png")...)
	before := h.u.preview.out.alpha
	shown := h.u.preview.view.img
	h.ui(func() { h.u.matte.shift.slider.SetValue(-12) })
	h.wait()
	after := h.u.preview.out.alpha
	if diff := meanAbsDiff(before, after); diff < 1 {
		t.Fatalf("the preview's alpha hardly changed (%.2f)", diff)
	}
	if h.u.preview.view.img == shown {
		t.Error("the view still shows the old image")
	}
	if got := h.u.selected.opts.Shift; got != -12 {
		t.Errorf("job shift = %d", got)
	}
	// The entry beside the slider shows the value, and typing into it moves the slider.
	if got := h.u.matte.shift.entry.Text; got != "-12" {
		t.Errorf("entry = %q", got)
	}
	h.ui(func() {
		h.u.matte.feather.entry.SetText("")
		test.Type(h.u.matte.feather.entry, "6.0")
	})
	h.wait()
	if got := h.u.selected.opts.Feather; got != 6 {
		t.Errorf("feather typed: %v", got)
	}
	h.ui(func() { h.u.matte.refine.SetSelected(refineLabels[matte.RefineClosedForm]) })
	h.wait()
	if o := h.u.selected.opts; o.Refine != matte.RefineClosedForm || !o.EstimateForeground {
		t.Errorf("closed-form: %+v", o)
	}
	if b.cuts != 1 {
		t.Errorf("the model ran %d times, want once", b.cuts)
	}
}

// Brush strokes painted on the preview change the trimap (and the preview); undo and redo
// take them back and forth.
func TestBrushStrokesChangeTrimap(t *testing.T) {
	h := newHarness(t, &fakeBackend{}, nil)
	h.drop(photos(t, t.TempDir(), "a.png")...)
	p := h.u.preview
	h.ui(func() {
		p.tools.SetSelected(toolNameRemove)
		p.brush.SetValue(40)
	})
	before := p.trimap()
	alpha0 := p.out.alpha

	// Drag across the middle of the disc: certain foreground becomes certain background. (A
	// drag event's position is where the pointer is now; it came from Dragged before.)
	v := p.view
	abs := fyne.CurrentApp().Driver().AbsolutePositionForObject(v)
	b := v.img.Bounds()
	start := abs.Add(fyne.NewPos(v.offset.X+float32(b.Dx())*v.zoom*0.6, v.offset.Y+float32(b.Dy())*v.zoom/2))
	h.ui(func() { test.Drag(h.win.Canvas(), start, float32(b.Dx())*v.zoom*0.2, 0) })
	h.wait()
	after := p.trimap()
	cx, cy := b.Dx()/2, b.Dy()/2
	if before.GrayAt(cx, cy).Y != matte.TrimapForeground || after.GrayAt(cx, cy).Y != matte.TrimapBackground {
		t.Fatalf("trimap at the centre: %d → %d, want 255 → 0", before.GrayAt(cx, cy).Y, after.GrayAt(cx, cy).Y)
	}
	if p.out.alpha.GrayAt(cx, cy).Y != 0 || alpha0.GrayAt(cx, cy).Y != 255 {
		t.Errorf("preview alpha at the centre: %d → %d", alpha0.GrayAt(cx, cy).Y, p.out.alpha.GrayAt(cx, cy).Y)
	}
	if n := len(h.u.selected.strokes.done); n != 1 {
		t.Fatalf("%d strokes recorded", n)
	}
	// A keep stroke on the background.
	h.ui(func() {
		p.tools.SetSelected(toolNameKeep)
		test.TapCanvas(h.win.Canvas(), abs.Add(fyne.NewPos(v.offset.X+5*v.zoom, v.offset.Y+5*v.zoom)))
	})
	h.wait()
	if got := p.trimap().GrayAt(5, 5).Y; got != matte.TrimapForeground {
		t.Errorf("keep dot: trimap %d", got)
	}
	// Ctrl+Z arrives as Fyne's own Undo shortcut (the driver turns the key into it), Ctrl+Y as
	// its Redo; Ctrl+Shift+Z redoes too.
	typed := h.win.Canvas().(interface{ TypedShortcut(fyne.Shortcut) })
	h.ui(func() { typed.TypedShortcut(&fyne.ShortcutUndo{}); typed.TypedShortcut(&fyne.ShortcutUndo{}) })
	h.wait()
	if d := meanAbsDiff(before, p.trimap()); d != 0 {
		t.Errorf("after undoing both strokes (Ctrl+Z twice) the trimap differs by %.3f", d)
	}
	h.ui(func() { typed.TypedShortcut(&fyne.ShortcutRedo{}) })
	h.wait()
	if p.trimap().GrayAt(cx, cy).Y != matte.TrimapBackground {
		t.Error("Ctrl+Y did not bring the stroke back")
	}
	h.ui(func() {
		typed.TypedShortcut(&fyne.ShortcutUndo{})
		typed.TypedShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyZ, Modifier: fyne.KeyModifierShortcutDefault | fyne.KeyModifierShift})
	})
	h.wait()
	if p.trimap().GrayAt(cx, cy).Y != matte.TrimapBackground {
		t.Error("Ctrl+Shift+Z did not redo")
	}
}

// Export writes a valid PNG whose alpha is the preview's, strokes included: exactly when
// the photo is small enough to be previewed at full size, closely when the preview is a
// reduced copy.
func TestExportMatchesPreview(t *testing.T) {
	for _, tc := range []struct {
		name string
		size image.Point
		tol  float64
	}{{"full size", image.Pt(320, 240), 0}, {"reduced", image.Pt(2400, 1800), 2.0}} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, &fakeBackend{size: tc.size}, nil)
			out := t.TempDir()
			h.u.set.OutDir = out
			h.drop(photos(t, t.TempDir(), "photo.jpg")...)
			m, p := h.u.matte, h.u.preview
			disp := p.res.disp.img.Rect
			h.ui(func() {
				m.refine.SetSelected(refineLabels[matte.RefineGuided])
				m.shift.slider.SetValue(-3)
				m.feather.slider.SetValue(2)
				p.tools.SetSelected(toolNameRemove)
				w, h := float64(disp.Dx()), float64(disp.Dy())
				p.onPaint(true, fpoint{w / 2, h / 3}, fpoint{w / 2, h / 2}, 9)
				p.onStrokeEnd()
			})
			h.wait()
			h.ui(h.u.onSave)
			h.wait()
			path := filepath.Join(out, "photo.png")
			got := readPNG(t, path)
			if got.Bounds().Size() != tc.size {
				t.Fatalf("exported %v, want %v", got.Bounds().Size(), tc.size)
			}
			alpha := alphaOf(got)
			if tc.size != disp.Size() {
				alpha = resizeGray(alpha, disp.Dx(), disp.Dy())
			}
			if d := meanAbsDiff(alpha, p.out.alpha); d > tc.tol {
				t.Errorf("export alpha differs from the preview's by %.3f on average (tolerance %.1f)", d, tc.tol)
			}
			if !strings.Contains(h.u.status.Text, "photo.png") {
				t.Errorf("status = %q", h.u.status.Text)
			}
			// A second save never replaces the first.
			h.ui(h.u.onSave)
			h.wait()
			if _, err := os.Stat(path); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Settings chosen in the dialog survive a restart: a new app and window on the same
// preferences store shows them, and the engine gets them at start.
func TestSettingsSurviveRestart(t *testing.T) {
	b := &fakeBackend{}
	h := newHarness(t, b, nil)
	prefs := h.app.Preferences()
	h.ui(func() {
		s := newSettingsPanel(h.u)
		s.model.SetSelected("isnet-general")
		s.threads.SetText("3")
		s.maxMB.SetText("20")
		s.maxSide.SetText("8000")
		s.maxMP.SetText("40.5")
		s.outDir.SetText("/tmp/cutouts")
		s.theme.SetSelected(themeDark)
		s.onSubmit(true)
		h.u.matte.refine.SetSelected(refineLabels[matte.RefineClosedForm])
		h.u.matte.erode.slider.SetValue(16)
		h.u.matte.onSaveDefault()
	})
	h.wait()
	h.u.Close()

	b2 := &fakeBackend{}
	h2 := newHarness(t, b2, prefs)
	want := EngineSettings{Model: "isnet-general", Threads: 3, MaxMB: 20, MaxSide: 8000, MaxMegapixels: 40.5}
	if h2.u.set.Engine != want {
		t.Errorf("engine settings after restart: %+v", h2.u.set.Engine)
	}
	if len(b2.applied) == 0 || b2.applied[0] != want {
		t.Errorf("the engine was started with %+v", b2.applied)
	}
	if h2.u.set.OutDir != "/tmp/cutouts" || h2.u.set.Theme != themeDark {
		t.Errorf("folder %q, theme %q", h2.u.set.OutDir, h2.u.set.Theme)
	}
	if v, ok := h2.app.Settings().Theme().(cutoutTheme); !ok || !v.held || v.variant != theme.VariantDark {
		t.Errorf("theme after restart: %T", h2.app.Settings().Theme())
	}
	if o := h2.u.set.Matte; o.Refine != matte.RefineClosedForm || o.Erode != 16 || !o.EstimateForeground {
		t.Errorf("default finishing after restart: %+v", o)
	}
	var s2 *settingsPanel
	h2.ui(func() { s2 = newSettingsPanel(h2.u) })
	if s2.threads.Text != "3" || s2.model.Selected != "isnet-general" || s2.maxMP.Text != "40.5" {
		t.Errorf("the dialog shows threads %q, model %q, megapixels %q", s2.threads.Text, s2.model.Selected, s2.maxMP.Text)
	}
	if h2.u.matte.erode.entry.Text != "16" {
		t.Errorf("the matte panel shows erosion %q", h2.u.matte.erode.entry.Text)
	}
	// A bad value is refused with a sentence, and nothing is saved.
	h2.ui(func() { s2.threads.SetText("many") })
	if _, err := s2.read(); err == nil {
		t.Error("threads = many was accepted")
	}
}

// Cancel stops one job; Cancel all stops the rest; a cancelled job can be tried again.
func TestCancel(t *testing.T) {
	b := &fakeBackend{hold: make(chan struct{})}
	h := newHarness(t, b, nil)
	files := photos(t, t.TempDir(), "a.png", "b.png", "c.png", "d.png")
	h.ui(func() { h.u.addPaths(files) })
	waitFor(t, func() bool { b.mu.Lock(); defer b.mu.Unlock(); return b.active == 2 })
	jobs, _ := h.u.jobs.snapshot()
	h.ui(func() {
		h.u.jobs.cancel(jobs[0])
		h.u.jobs.cancelAll()
	})
	h.wait()
	for _, j := range jobs {
		if st, _, _ := h.u.jobs.view(j); st != stateCancelled {
			t.Errorf("%s: %v", j.name, st)
		}
	}
	if got := h.u.queue.count.Text; got != "0 of 4 done · 4 cancelled" {
		t.Errorf("count = %q", got)
	}
	close(b.hold)
	h.ui(func() { h.u.jobs.retry(jobs[2]) })
	h.wait()
	if st, _, _ := h.u.jobs.view(jobs[2]); st != stateDone {
		t.Errorf("retried job: %v", st)
	}
}

// Dropping thousands of files adds thousands of rows, but only two cuts run at once and
// no goroutine is started per file.
func TestFloodIsBounded(t *testing.T) {
	b := &fakeBackend{hold: make(chan struct{})}
	h := newHarness(t, b, nil)
	g0 := runtime.NumGoroutine()
	paths := make([]string, 10000)
	for i := range paths {
		paths[i] = filepath.Join("/nonexistent", fmt.Sprintf("p%05d.png", i))
	}
	h.ui(func() { h.u.addPaths(paths) })
	waitFor(t, func() bool { b.mu.Lock(); defer b.mu.Unlock(); return b.active == 2 })
	time.Sleep(50 * time.Millisecond)
	if g := runtime.NumGoroutine(); g > g0+20 {
		t.Errorf("%d goroutines for 10000 files (was %d)", g, g0)
	}
	if n := len(h.u.jobs.all); n != 10000 {
		t.Errorf("%d jobs", n)
	}
	h.ui(h.u.jobs.cancelAll)
	close(b.hold)
	h.wait()
	if b.peak != 2 {
		t.Errorf("%d cuts ran at once, want 2", b.peak)
	}
}

// A batch reports to the UI in batches: hundreds of state changes, a few flushes.
func TestUpdatesAreBatched(t *testing.T) {
	b := &fakeBackend{size: image.Pt(64, 48)}
	h := newHarness(t, b, nil)
	paths := photos(t, t.TempDir(), func() []string {
		var n []string
		for i := 0; i < 200; i++ {
			n = append(n, filepath.Join("batch", string(rune('a'+i/26))+string(rune('a'+i%26))+".png"))
		}
		return n
	}()...)
	start := time.Now()
	h.ui(func() { h.u.addPaths(paths) })
	h.wait()
	elapsed := time.Since(start)
	if got := h.u.queue.count.Text; got != "200 of 200 done" {
		t.Fatalf("count = %q", got)
	}
	// Each job changes state three times (validating, cutting out, done): 600 changes.
	if max := int(elapsed/flushInterval) + 3; h.u.flushes > max {
		t.Errorf("%d flushes in %v for 600 changes, want at most %d", h.u.flushes, elapsed, max)
	}
	t.Logf("%d flushes in %v", h.u.flushes, elapsed)
}

// Errors read as sentences that name the file.
func TestDescribe(t *testing.T) {
	for _, tc := range []struct {
		err  error
		name string
		want string
	}{
		{errRefused, "huge.png", "Refused: \"huge.png\" claims 100000 × 100000 pixels, the limit is 16384 × 16384. Make the image smaller, or raise the limit in Settings."},
		{os.ErrPermission, "a.png", `"a.png" could not be cut out: permission denied.`},
		{os.ErrNotExist, "", "File does not exist."},
	} {
		if got := describe(tc.err, tc.name); got != tc.want {
			t.Errorf("describe(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s is not a valid PNG: %v", path, err)
	}
	return img
}

func alphaOf(img image.Image) *image.Gray {
	b := img.Bounds()
	g := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			_, _, _, a := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			g.Pix[y*g.Stride+x] = uint8(a >> 8)
		}
	}
	return g
}

func meanAbsDiff(a, b *image.Gray) float64 {
	if a.Rect.Size() != b.Rect.Size() {
		return math.Inf(1)
	}
	var s float64
	for i := range a.Pix {
		s += math.Abs(float64(a.Pix[i]) - float64(b.Pix[i]))
	}
	return s / float64(len(a.Pix))
}
