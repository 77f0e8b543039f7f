package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"cutout/internal/quote"
)

// flushInterval is how often queue changes reach the widgets: workers report every step,
// the window redraws at most this often.
const flushInterval = 100 * time.Millisecond

// UI is Cutout's main window: it owns the panels and the jobs, and wires them to the
// backend. Its methods run on the UI goroutine.
type UI struct {
	app   fyne.App
	win   fyne.Window
	b     Backend
	prefs fyne.Preferences
	set   settings

	ctx  context.Context
	stop context.CancelFunc
	jobs *jobList

	queue *queuePanel
	// dialogs are the dialogs open now, the top one last (UI goroutine).
	dialogs []dialog.Dialog
	// saveBtn and exportBtn are enabled when there is something to save.
	saveBtn, exportBtn *widget.Button
	preview            *previewPanel
	matte              *mattePanel
	status             *widget.Label
	hot                *hotPanel // nil until SetHotFolders
	tabs               *container.AppTabs
	hotTab             *container.TabItem

	selected  *job
	lastDir   string // the folder of the last export, for the next dialog
	exporting bool

	doMu     sync.Mutex // serialises callbacks from goroutines (the test driver runs them at once)
	flushMu  sync.Mutex
	flushing bool
	flushes  int // how many flushes ran (tests check the batching)
	act      activity
}

// New builds the window's content in w and starts the workers. prefs persist the settings
// (normally a.Preferences()). Call Close when the window closes.
func New(a fyne.App, w fyne.Window, b Backend, prefs fyne.Preferences) *UI {
	u := &UI{app: a, win: w, b: b, prefs: prefs}
	u.act.cond = sync.NewCond(&u.act.mu)
	u.set = loadSettings(prefs, b.Defaults())
	a.Settings().SetTheme(themeFor(u.set.Theme))
	if err := b.Apply(u.set.Engine); err != nil {
		defer u.showError(fmt.Errorf("%w. Cutout uses its default engine settings until you fix them in Settings", err))
		_ = b.Apply(b.Defaults())
	}
	u.ctx, u.stop = context.WithCancel(context.Background())
	u.jobs = newJobList(u.ctx, b, &u.act, u.changed)

	u.status = widget.NewLabel("Ready. Drop photos or folders onto the window.")
	u.status.Truncation = fyne.TextTruncateEllipsis
	u.queue = newQueuePanel(u)
	u.preview = newPreviewPanel(u)
	u.matte = newMattePanel(u)

	u.saveBtn = widget.NewButtonWithIcon("Save", theme.DocumentSaveIcon(), u.onSave)
	u.exportBtn = widget.NewButtonWithIcon("Export all", theme.DownloadIcon(), u.onExportAll)
	u.saveBtn.Disable()
	u.exportBtn.Disable()
	toolbar := container.NewHBox(
		widget.NewButtonWithIcon("Open…", theme.FileImageIcon(), u.onOpen),
		widget.NewButtonWithIcon("Open folder…", theme.FolderOpenIcon(), u.onOpenFolder),
		widget.NewSeparator(),
		u.saveBtn,
		u.exportBtn,
		widget.NewSeparator(),
		widget.NewButtonWithIcon("Settings", theme.SettingsIcon(), u.onSettings),
	)
	matte := container.NewBorder(nil, nil, widget.NewSeparator(), nil, u.matte.content)
	main := container.NewHSplit(u.queue.content, container.NewBorder(nil, nil, nil, matte, u.preview.content))
	main.Offset = 0.24
	photos := container.NewBorder(container.NewVBox(toolbar, widget.NewSeparator()),
		container.NewVBox(widget.NewSeparator(), u.status), nil, nil, main)
	u.hotTab = container.NewTabItemWithIcon("Hot folders", theme.FolderIcon(),
		container.NewCenter(widget.NewLabel("Hot folders are not available in this window.")))
	u.tabs = container.NewAppTabs(container.NewTabItemWithIcon("Photos", theme.FileImageIcon(), photos), u.hotTab)
	w.SetContent(u.tabs)
	w.SetMainMenu(u.menu())
	u.shortcuts()
	w.Canvas().SetOnTypedKey(u.onKey)
	w.SetOnDropped(u.onDropped)
	return u
}

// Close cancels running work and stops the workers.
func (u *UI) Close() { u.stop() }

// onDropped adds dropped files and folders (the window's drop handler).
func (u *UI) onDropped(_ fyne.Position, uris []fyne.URI) {
	var paths []string
	for _, x := range uris {
		if x.Scheme() == "file" {
			paths = append(paths, x.Path())
		}
	}
	u.addPaths(paths)
}

// Open adds files and folders as a drop does (`cutout photo.jpg shoots/` opens the window
// with them). Call it on the UI goroutine.
func (u *UI) Open(paths []string) { u.addPaths(paths) }

// addPaths expands files and folders on a goroutine (a folder may hold thousands of
// photos) and queues what it finds.
func (u *UI) addPaths(paths []string) {
	if len(paths) == 0 {
		return
	}
	u.act.add()
	go func() {
		files, errs := u.b.Expand(paths)
		u.do(func() {
			defer u.act.done()
			u.addFiles(files, errs, paths)
		})
	}()
}

// addFiles queues files (those not in the list already: the same folder dropped twice adds
// nothing twice) and selects the first new one if nothing was selected.
func (u *UI) addFiles(files []string, errs []error, asked []string) {
	fresh, known := u.jobs.unknown(files)
	jobs := u.jobs.add(fresh, u.set.Matte)
	u.queue.update()
	also := ""
	if known > 0 {
		also = fmt.Sprintf(" (%d already in the list)", known)
	}
	switch {
	case len(errs) > 0:
		u.setStatus(fmt.Sprintf("Added %d photos%s; %d could not be read: %s", len(fresh), also, len(errs), describe(errs[0], "")))
	case len(files) == 0:
		u.setStatus(fmt.Sprintf("No photos found in %s. Cutout reads %s files.", quoteNames(baseNames(asked)),
			strings.Join(u.b.Extensions(), ", ")))
	default:
		u.setStatus(fmt.Sprintf("Added %d photo(s)%s.", len(fresh), also))
	}
	if u.selected == nil && len(jobs) > 0 {
		u.queue.list.Select(u.queue.indexOf(jobs[0]))
	}
}

// onSelect shows j in the preview and the matte panel.
func (u *UI) onSelect(j *job) {
	if j == u.selected {
		return
	}
	u.selected = j
	u.matte.set(j.opts)
	u.preview.showJob(j)
	u.queue.update()
}

// onOpen asks for one photo.
func (u *UI) onOpen() {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil {
			u.showError(fmt.Errorf("the file could not be opened: %w", err))
			return
		}
		if r == nil {
			return
		}
		path := r.URI().Path()
		r.Close()
		u.addPaths([]string{path})
	}, u.win)
	d.SetFilter(storage.NewExtensionFileFilter(append(u.b.Extensions(), upper(u.b.Extensions())...)))
	d.Resize(fyne.NewSize(800, 560))
	u.showDialog(d)
}

// onOpenFolder asks for a folder and adds every photo in it.
func (u *UI) onOpenFolder() {
	d := dialog.NewFolderOpen(func(l fyne.ListableURI, err error) {
		if err != nil {
			u.showError(fmt.Errorf("the folder could not be opened: %w", err))
			return
		}
		if l != nil {
			u.addPaths([]string{l.Path()})
		}
	}, u.win)
	d.Resize(fyne.NewSize(800, 560))
	u.showDialog(d)
}

// onRedoAll cuts every finished photo out again with the engine as it is now (a new model,
// say); each keeps its options and strokes.
func (u *UI) onRedoAll() {
	n := u.jobs.redoAll()
	if u.selected != nil {
		u.preview.showJob(u.selected)
	}
	u.setStatus(fmt.Sprintf("Cutting out %d photo(s) again.", n))
}

// onSettings opens the settings dialog.
func (u *UI) onSettings() { newSettingsPanel(u).show() }

// applySettings saves s, applies the theme, and restarts the engine if its settings changed.
func (u *UI) applySettings(s settings) {
	old := u.set
	u.set = s
	s.save(u.prefs)
	if s.Theme != old.Theme {
		u.app.Settings().SetTheme(themeFor(s.Theme))
	}
	if s.Engine == old.Engine {
		u.setStatus("Settings saved.")
		return
	}
	u.setStatus("Settings saved; restarting the engine…")
	u.act.add()
	go func() {
		err := u.b.Apply(s.Engine)
		u.do(func() {
			defer u.act.done()
			if err != nil {
				u.showError(err)
				return
			}
			if s.Engine.Model != old.Engine.Model && u.queue.counts.finished() > 0 {
				u.setStatus("Settings saved; new photos use the new model. Edit → Cut Out All Again redoes the others with it.")
				return
			}
			u.setStatus("Settings saved; new photos use them.")
		})
	}()
}

// setStatus shows a line in the status bar. Lines often repeat a file name or a message
// of the engine: they are escaped (quote.Text), so no newline or control character of a
// name reaches the label.
func (u *UI) setStatus(s string) { u.status.SetText(quote.Text(s)) }

// showError shows err in a dialog, as a sentence.
func (u *UI) showError(err error) {
	msg := describe(err, "")
	u.setStatus(msg)
	l := widget.NewLabel(msg) // describe escapes
	l.Wrapping = fyne.TextWrapWord
	d := dialog.NewCustom("Something went wrong", "OK", container.NewGridWrap(fyne.NewSize(420, 90), l), u.win)
	u.showDialog(d)
}

// notify tells the user that long work ended: a status line, and a desktop notification.
func (u *UI) notify(msg string) {
	u.setStatus(msg)
	u.app.SendNotification(fyne.NewNotification("Cutout", msg))
}

// changed is called by the workers after every change; it schedules one flush per
// flushInterval, so a batch never floods the UI goroutine.
func (u *UI) changed() {
	u.flushMu.Lock()
	if u.flushing {
		u.flushMu.Unlock()
		return
	}
	u.flushing = true
	u.flushMu.Unlock()
	u.act.add()
	time.AfterFunc(flushInterval, func() {
		u.flushMu.Lock()
		u.flushing = false
		u.flushMu.Unlock()
		u.do(func() {
			defer u.act.done()
			u.flush()
		})
	})
}

// flush brings the widgets up to date with the jobs.
func (u *UI) flush() {
	u.flushes++
	was := u.queue.counts
	u.queue.update()
	if c := u.queue.counts; c.total > 0 && c.finished() == c.total && was.finished() < was.total {
		msg := fmt.Sprintf("All %d photos are cut out. Check each one, then Save (Ctrl+S) or Export all.", c.done)
		if c.failed+c.cancelled > 0 {
			msg = fmt.Sprintf("Finished: %d cut out, %d failed, %d cancelled. Select a failed photo to see why.", c.done, c.failed, c.cancelled)
		}
		u.setStatus(msg)
	}
	title := "Cutout"
	if u.queue.counts.total > 0 {
		title += " — " + u.queue.count.Text
	}
	u.win.SetTitle(title)
	if u.selected != nil {
		u.preview.refreshJob()
	}
}

// do runs f on the UI goroutine (fyne.Do), one callback at a time.
func (u *UI) do(f func()) {
	fyne.Do(func() {
		u.doMu.Lock()
		defer u.doMu.Unlock()
		f()
	})
}

// activity counts background work in flight, so tests can wait for quiet.
type activity struct {
	mu   sync.Mutex
	cond *sync.Cond
	n    int
}

func (a *activity) add() {
	a.mu.Lock()
	a.n++
	a.mu.Unlock()
}

func (a *activity) done() {
	a.mu.Lock()
	a.n--
	if a.n == 0 {
		a.cond.Broadcast()
	}
	a.mu.Unlock()
}

// describe turns err into a sentence for a person: it names the file, quoted (when name is
// not empty and the message does not already), ends with a full stop, and is escaped
// (quote.Text): a message can repeat a file's name or the engine's words, and neither may
// put a newline or a control character into a label. Errors from the backend are sentences
// already; anything else is wrapped.
func describe(err error, name string) string {
	if err == nil {
		return ""
	}
	msg := quote.Text(strings.TrimSpace(err.Error()))
	if errors.Is(err, context.DeadlineExceeded) {
		msg = "it took too long and was stopped"
	}
	if name != "" && !strings.Contains(msg, quote.Name(name)) {
		msg = fmt.Sprintf("%s could not be cut out: %s", quote.Name(name), msg)
	}
	if msg == "" {
		msg = "Something went wrong"
	}
	msg = strings.ToUpper(msg[:1]) + msg[1:]
	if !strings.HasSuffix(msg, ".") && !strings.HasSuffix(msg, "!") && !strings.HasSuffix(msg, "?") {
		msg += "."
	}
	return msg
}

// quoteNames quotes each name and joins them with commas.
func quoteNames(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = quote.Name(n)
	}
	return strings.Join(q, ", ")
}

func baseNames(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = storage.NewFileURI(p).Name()
	}
	return out
}

func upper(exts []string) []string {
	out := make([]string, len(exts))
	for i, e := range exts {
		out[i] = strings.ToUpper(e)
	}
	return out
}
