package ui

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"cutout/engine/matte"
	"cutout/internal/quote"
)

// HotFolders is what the Hot folders panel needs from the rest of Cutout (implemented by
// package app on its watch service). Every method may be called from any goroutine;
// SetEnabled and Remove may wait for an image in flight, so the panel never calls them on
// the UI goroutine. Errors are sentences that name the folder.
type HotFolders interface {
	// List returns the hot folders in the order they were added.
	List() []HotFolder
	// Add creates a hot folder for c and starts it when c.Enabled; it refuses an output
	// folder that another hot folder already uses.
	Add(c HotFolderConfig) (HotFolder, error)
	// Remove stops the hot folder id and forgets it; no file is deleted.
	Remove(id int) error
	// SetEnabled starts (on) or stops (off) the hot folder id.
	SetEnabled(id int, on bool) error
	// Stats returns the live state and counts of the hot folder id.
	Stats(id int) HotFolderStats
	// Recent returns the recent activity of the hot folder id, oldest first.
	Recent(id int) []HotActivity
	// Changed receives a value (coalesced) after any hot folder's counts or activity change.
	Changed() <-chan struct{}
}

// HotFolderConfig is what the user chose for a hot folder; Cutout remembers it.
type HotFolderConfig struct {
	// In is the watched folder; Out receives the cut-outs.
	In, Out string
	// Recursive also watches the folders inside In.
	Recursive bool
	// MoveOriginals moves each original to In/.cutout-done once its cut-out is written.
	MoveOriginals bool
	// Refine is how the edges are finished.
	Refine matte.Refine
	// Format is the file format of the cut-outs: "png" ("" too), "webp" or "jpeg" (on white).
	Format string
	// Frame is how each cut-out is framed: "" as photographed, "crop" cropped to the subject,
	// "square" cropped and centred on a 2000 × 2000 square with a 5 % margin (the shop preset).
	Frame string
	// Enabled says whether the hot folder is switched on.
	Enabled bool
}

// HotFolder is one hot folder as listed: its identity and its configuration.
type HotFolder struct {
	// ID names the hot folder in the other methods of HotFolders (never 0).
	ID int
	HotFolderConfig
}

// HotState is where a hot folder stands.
type HotState int

// The states of a hot folder.
const (
	HotStopped  HotState = iota // not running (Problem says why, if it stopped by itself)
	HotStarting                 // opening its journal, first scan
	HotWatching                 // running and watching In
	HotMissing                  // running, but In is gone: waiting for it to come back
)

// String names the state for people.
func (s HotState) String() string {
	switch s {
	case HotStarting:
		return "Starting…"
	case HotWatching:
		return "Watching"
	case HotMissing:
		return "Folder missing"
	}
	return "Stopped"
}

// HotFolderStats are a hot folder's live state and counts since Cutout started.
type HotFolderStats struct {
	State HotState
	// Problem is a sentence about what needs attention ("" when all is well).
	Problem string
	// Seen counts new photos noticed; Done and Failed count outcomes; Skipped counts photos
	// found already done; Waiting counts photos noticed and not finished yet.
	Seen, Done, Failed, Skipped, Waiting int
}

// HotActivity is one line of a hot folder's recent activity.
type HotActivity struct {
	Time time.Time
	// Outcome is "done", "failed", "skipped", "moved", "info" or "problem".
	Outcome string
	// File is the photo, relative to In ("" for the hot folder as a whole).
	File string
	// Output is the file written, for "done" and "moved".
	Output string
	// Message is a sentence for people (the reason, for "failed").
	Message string
}

const (
	keyHotFolders = "hotfolders.list" // JSON list of the hot folders
	hotFlush      = 250 * time.Millisecond
	hotRecentMax  = 100 // activity lines shown
)

// SetHotFolders fills the Hot folders tab with the panel for h and adds the remembered hot
// folders to h, switching on those that were on. Call it once, on the UI goroutine, after New.
func (u *UI) SetHotFolders(h HotFolders) {
	p := newHotPanel(u, h)
	u.hot = p
	u.hotTab.Content = p.content
	u.tabs.Refresh()
	go p.run()
	saved := loadHotFolders(u.prefs)
	u.act.add()
	go func() {
		defer u.act.done()
		var problems []string
		for _, c := range saved {
			if _, err := h.Add(c); err != nil {
				problems = append(problems, describe(err, ""))
			}
		}
		p.refresh()
		if len(problems) > 0 {
			u.act.add()
			u.do(func() {
				defer u.act.done()
				p.message.SetText("Some hot folders could not be resumed. " + strings.Join(problems, " "))
				p.message.Importance = widget.DangerImportance
				p.message.Refresh()
			})
		}
	}()
}

// hotPanel is the Hot folders tab: the hot folders, each with its switch, state and counts,
// and the recent activity of the selected one. It mirrors HotFolders: a goroutine waits for
// Changed, reads the state off the UI goroutine and applies it with fyne.Do at most every
// hotFlush.
type hotPanel struct {
	u *UI
	h HotFolders

	rows     []HotFolder // what the list shows
	stats    map[int]HotFolderStats
	recent   []HotActivity // of the selected hot folder, newest first
	selected atomic.Int64  // ID of the selected hot folder (0: none); read by the goroutine

	list     *widget.List
	activity *widget.List
	actTitle *widget.Label
	message  *widget.Label
	remove   *widget.Button
	empty    fyne.CanvasObject
	content  fyne.CanvasObject
}

// newHotPanel builds the panel.
func newHotPanel(u *UI, h HotFolders) *hotPanel {
	p := &hotPanel{u: u, h: h, stats: map[int]HotFolderStats{}}
	p.list = widget.NewList(func() int { return len(p.rows) }, p.newRow, p.updateRow)
	p.list.OnSelected = func(i widget.ListItemID) {
		if i >= 0 && i < len(p.rows) && int64(p.rows[i].ID) != p.selected.Load() {
			p.selected.Store(int64(p.rows[i].ID))
			p.recent = nil
			p.activity.Refresh()
			p.remove.Enable()
			p.u.act.add()
			go func() {
				defer p.u.act.done()
				p.refresh()
			}()
		}
	}
	p.activity = widget.NewList(func() int { return len(p.recent) }, p.newActivityRow, p.updateActivityRow)
	p.actTitle = widget.NewLabelWithStyle("Recent activity", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	p.actTitle.Truncation = fyne.TextTruncateEllipsis
	p.message = widget.NewLabel("Every photo that lands in a hot folder is cut out into its output folder, once, " +
		"while Cutout runs. Files are never deleted.")
	p.message.Wrapping = fyne.TextWrapWord
	p.message.Importance = widget.LowImportance
	add := widget.NewButtonWithIcon("Add hot folder…", theme.ContentAddIcon(), p.onAdd)
	add.Importance = widget.HighImportance
	p.remove = widget.NewButtonWithIcon("Remove", theme.ContentRemoveIcon(), p.onRemove)
	p.remove.Disable()
	hint := widget.NewLabelWithStyle("No hot folders yet. Add one, and every photo saved into it is cut out automatically.",
		fyne.TextAlignCenter, fyne.TextStyle{Italic: true})
	hint.Importance = widget.LowImportance
	hint.Wrapping = fyne.TextWrapWord
	p.empty = container.NewCenter(container.NewGridWrap(fyne.NewSize(460, 80), container.NewVBox(
		container.NewCenter(container.NewGridWrap(fyne.NewSize(48, 48), widget.NewIcon(theme.FolderIcon()))), hint)))
	title := widget.NewLabelWithStyle("Hot folders", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	top := container.NewVBox(container.NewHBox(title, layout.NewSpacer(), add, p.remove), p.message)
	folders := container.NewBorder(top, nil, nil, nil, container.NewStack(p.list, p.empty))
	recent := container.NewBorder(container.NewVBox(widget.NewSeparator(), p.actTitle), nil, nil, nil, p.activity)
	split := container.NewVSplit(folders, recent)
	split.Offset = 0.5
	p.content = container.NewPadded(split)
	return p
}

// run refreshes the panel after each change of any hot folder, at most every hotFlush,
// until the window closes.
func (p *hotPanel) run() {
	for {
		select {
		case <-p.u.ctx.Done():
			return
		case <-p.h.Changed():
		}
		select {
		case <-p.u.ctx.Done():
			return
		case <-time.After(hotFlush): // let changes pile up: one redraw for many events
		}
		p.refresh()
	}
}

// refresh reads the hot folders off the UI goroutine and applies what it read on it.
func (p *hotPanel) refresh() {
	list := p.h.List()
	stats := make(map[int]HotFolderStats, len(list))
	for _, f := range list {
		stats[f.ID] = p.h.Stats(f.ID)
	}
	sel := int(p.selected.Load())
	var recent []HotActivity
	if sel != 0 {
		all := p.h.Recent(sel)
		for i := len(all) - 1; i >= 0 && len(recent) < hotRecentMax; i-- {
			recent = append(recent, all[i])
		}
	}
	p.u.act.add()
	p.u.do(func() {
		defer p.u.act.done()
		p.apply(list, stats, sel, recent)
	})
}

// apply shows what refresh read.
func (p *hotPanel) apply(list []HotFolder, stats map[int]HotFolderStats, sel int, recent []HotActivity) {
	p.rows, p.stats = list, stats
	if len(list) == 0 {
		p.empty.Show()
	} else {
		p.empty.Hide()
	}
	cur := int(p.selected.Load())
	idx := p.indexOf(cur)
	switch {
	case idx < 0 && len(list) > 0: // nothing selected, or the selected one was removed
		p.selected.Store(0)
		p.list.Select(0) // reads the activity of the first
	case idx < 0:
		p.selected.Store(0)
		p.list.UnselectAll()
		p.remove.Disable()
		p.recent = nil
		p.actTitle.SetText("Recent activity")
	case cur == sel:
		p.recent = recent
		p.actTitle.SetText(fmt.Sprintf("Recent activity in %s", quote.Name(list[idx].In)))
	}
	if idx >= 0 {
		p.remove.Enable()
	}
	p.list.Refresh()
	p.activity.Refresh()
}

// indexOf returns the row of the hot folder id, or -1.
func (p *hotPanel) indexOf(id int) int {
	for i, f := range p.rows {
		if f.ID == id && id != 0 {
			return i
		}
	}
	return -1
}

// newRow is a row of the list: switch | IN → OUT over state and counts.
func (p *hotPanel) newRow() fyne.CanvasObject {
	on := widget.NewCheck("On", nil)
	paths := widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	paths.Truncation = fyne.TextTruncateEllipsis
	state := widget.NewLabel("")
	detail := widget.NewLabel("")
	detail.Truncation = fyne.TextTruncateEllipsis
	line2 := container.NewBorder(nil, nil, state, nil, detail)
	return container.NewBorder(nil, nil, on, nil, container.NewVBox(paths, line2))
}

// rowParts returns the widgets of a row made by newRow.
func rowParts(o fyne.CanvasObject) (on *widget.Check, paths, state, detail *widget.Label) {
	row := o.(*fyne.Container)
	on = row.Objects[1].(*widget.Check)
	lines := row.Objects[0].(*fyne.Container)
	paths = lines.Objects[0].(*widget.Label)
	line2 := lines.Objects[1].(*fyne.Container)
	return on, paths, line2.Objects[1].(*widget.Label), line2.Objects[0].(*widget.Label)
}

// updateRow shows hot folder i in a row.
func (p *hotPanel) updateRow(i widget.ListItemID, o fyne.CanvasObject) {
	if i < 0 || i >= len(p.rows) {
		return
	}
	f := p.rows[i]
	s := p.stats[f.ID]
	on, paths, state, detail := rowParts(o)
	on.OnChanged = nil
	on.SetChecked(f.Enabled)
	on.OnChanged = func(v bool) { p.onToggle(f.ID, v) }
	paths.SetText(quote.Text(fmt.Sprintf("%s  →  %s", f.In, f.Out)))
	text, imp := s.State.String(), widget.MediumImportance
	switch {
	case s.State == HotWatching:
		imp = widget.SuccessImportance
	case s.State == HotMissing, s.Problem != "":
		imp = widget.DangerImportance
	case s.State == HotStopped:
		imp = widget.LowImportance
	}
	if state.Text != text || state.Importance != imp {
		state.Importance = imp
		state.SetText(text)
	}
	counts := fmt.Sprintf("seen %d · done %d · failed %d · waiting %d", s.Seen, s.Done, s.Failed, s.Waiting)
	if s.Skipped > 0 {
		counts += fmt.Sprintf(" · already done %d", s.Skipped)
	}
	if s.Problem != "" {
		counts += " — " + describe(errors.New(s.Problem), "")
	}
	detail.SetText(counts)
}

// newActivityRow is a line of the activity: time | outcome | file and what happened.
func (p *hotPanel) newActivityRow() fyne.CanvasObject {
	at := widget.NewLabel("00:00:00")
	outcome := widget.NewLabelWithStyle("problem", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	what := widget.NewLabel("")
	what.Truncation = fyne.TextTruncateEllipsis
	fixed := func(l *widget.Label) fyne.CanvasObject { return container.NewGridWrap(l.MinSize(), l) }
	return container.NewBorder(nil, nil, container.NewHBox(fixed(at), fixed(outcome)), nil, what)
}

// updateActivityRow shows activity line i.
func (p *hotPanel) updateActivityRow(i widget.ListItemID, o fyne.CanvasObject) {
	if i < 0 || i >= len(p.recent) {
		return
	}
	a := p.recent[i]
	row := o.(*fyne.Container)
	what := row.Objects[0].(*widget.Label)
	left := row.Objects[1].(*fyne.Container)
	at := left.Objects[0].(*fyne.Container).Objects[0].(*widget.Label)
	outcome := left.Objects[1].(*fyne.Container).Objects[0].(*widget.Label)
	at.SetText(a.Time.Format("15:04:05"))
	imp := widget.MediumImportance
	switch a.Outcome {
	case "done", "moved":
		imp = widget.SuccessImportance
	case "failed", "problem":
		imp = widget.DangerImportance
	case "skipped", "info":
		imp = widget.LowImportance
	}
	outcome.Importance = imp
	outcome.SetText(a.Outcome)
	what.SetText(activityText(a))
}

// activityText is an activity line's file and what happened to it, escaped: names and
// messages come from the folder's files and from the engine.
func activityText(a HotActivity) string {
	switch {
	case a.File != "" && a.Output != "":
		return fmt.Sprintf("%s → %s", quote.Text(a.File), quote.Text(a.Output))
	case a.File != "" && strings.Contains(a.Message, quote.Name(filepath.Base(a.File))):
		return describe(errors.New(a.Message), "")
	case a.File != "":
		return fmt.Sprintf("%s: %s", quote.Text(a.File), describe(errors.New(a.Message), ""))
	}
	return describe(errors.New(a.Message), "")
}

// onToggle switches a hot folder on or off (stopping waits for the photo in flight).
func (p *hotPanel) onToggle(id int, on bool) {
	p.u.act.add()
	go func() {
		defer p.u.act.done()
		err := p.h.SetEnabled(id, on)
		p.saved(err)
	}()
}

// saved remembers the list after a change (or shows why the change failed) and refreshes.
func (p *hotPanel) saved(err error) {
	if err == nil {
		saveHotFolders(p.u.prefs, p.h.List())
	}
	p.refresh()
	if err != nil {
		p.u.act.add()
		p.u.do(func() {
			defer p.u.act.done()
			p.u.showError(err)
		})
	}
}

// add creates a hot folder for c, off the UI goroutine.
func (p *hotPanel) add(c HotFolderConfig) {
	p.u.act.add()
	go func() {
		defer p.u.act.done()
		f, err := p.h.Add(c)
		if err == nil {
			p.selected.Store(int64(f.ID))
		}
		p.saved(err)
		if err == nil {
			p.u.act.add()
			p.u.do(func() {
				defer p.u.act.done()
				if i := p.indexOf(f.ID); i >= 0 {
					p.list.Select(i)
				}
				p.u.setStatus(fmt.Sprintf("Added the hot folder %s: its photos are cut out into %s.", quote.Name(f.In), quote.Name(f.Out)))
			})
		}
	}()
}

// onRemove asks, then stops and forgets the selected hot folder.
func (p *hotPanel) onRemove() {
	i := p.indexOf(int(p.selected.Load()))
	if i < 0 {
		return
	}
	f := p.rows[i]
	msg := widget.NewLabel(fmt.Sprintf("Stop watching %s and forget it? No file is deleted: "+
		"the photos stay in it, and the cut-outs in %s.", quote.Name(f.In), quote.Name(f.Out)))
	msg.Wrapping = fyne.TextWrapWord
	p.u.showDialog(dialog.NewCustomConfirm("Remove hot folder", "Remove", "Cancel",
		container.NewGridWrap(fyne.NewSize(440, 90), msg), func(ok bool) {
			if ok {
				p.removeFolder(f.ID)
			}
		}, p.u.win))
}

// removeFolder stops and forgets the hot folder id, off the UI goroutine.
func (p *hotPanel) removeFolder(id int) {
	p.u.act.add()
	go func() {
		defer p.u.act.done()
		p.saved(p.h.Remove(id))
	}()
}
