package ui

import (
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"cutout/internal/quote"
)

// queuePanel lists the jobs: a row per photo with its thumbnail, name, state and, for
// failures, the reason; under it the overall progress and the buttons that act on many jobs.
type queuePanel struct {
	u *UI

	list     *widget.List
	rows     []*job // what the list shows, refreshed by update
	progress *widget.ProgressBar
	count    *widget.Label
	cancel   *widget.Button
	clear    *widget.Button
	retry    *widget.Button
	empty    fyne.CanvasObject
	content  fyne.CanvasObject
	counts   counts
}

// newQueuePanel builds the panel.
func newQueuePanel(u *UI) *queuePanel {
	q := &queuePanel{u: u}
	q.list = widget.NewList(func() int { return len(q.rows) }, newQueueRow, q.updateRow)
	q.list.OnSelected = func(id widget.ListItemID) {
		if id >= 0 && id < len(q.rows) {
			u.onSelect(q.rows[id])
		}
	}
	q.progress = widget.NewProgressBar()
	q.progress.TextFormatter = func() string { return "" }
	q.count = widget.NewLabel("No photos yet")
	q.count.Truncation = fyne.TextTruncateEllipsis
	q.cancel = widget.NewButtonWithIcon("Cancel all", theme.CancelIcon(), u.jobs.cancelAll)
	q.clear = widget.NewButtonWithIcon("Clear finished", theme.DeleteIcon(), q.onClear)
	q.retry = widget.NewButtonWithIcon("Retry failed", theme.ViewRefreshIcon(), func() {
		if n := u.jobs.retryAll(); n > 0 {
			u.setStatus(fmt.Sprintf("Trying %d photo(s) again.", n))
		}
	})
	hint := widget.NewLabelWithStyle("Drop photos or folders here", fyne.TextAlignCenter, fyne.TextStyle{Italic: true})
	hint.Importance = widget.LowImportance
	q.empty = container.NewCenter(container.NewVBox(container.NewCenter(container.NewGridWrap(fyne.NewSize(48, 48),
		widget.NewIcon(theme.UploadIcon()))), hint))
	bottom := container.NewVBox(q.progress, q.count, container.NewGridWithColumns(2, q.cancel, q.clear), q.retry)
	title := widget.NewLabelWithStyle("Photos", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	q.content = container.NewBorder(title, bottom, nil, nil, container.NewStack(q.list, q.empty))
	q.update()
	return q
}

// queueRow is a row: thumbnail | name over state | cancel or retry.
type queueRow struct {
	widget.BaseWidget
	thumb  *canvas.Image
	name   *widget.Label
	state  *widget.Label
	action *widget.Button
}

func newQueueRow() fyne.CanvasObject {
	r := &queueRow{thumb: canvas.NewImageFromImage(nil), name: widget.NewLabel(""), state: widget.NewLabel(""),
		action: widget.NewButtonWithIcon("", theme.CancelIcon(), nil)}
	r.thumb.FillMode = canvas.ImageFillContain
	r.thumb.SetMinSize(fyne.NewSize(48, 48))
	r.name.TextStyle.Bold = true
	r.name.Truncation = fyne.TextTruncateEllipsis
	r.state.Truncation = fyne.TextTruncateEllipsis
	r.state.SizeName = theme.SizeNameCaptionText
	r.action.Importance = widget.LowImportance
	r.ExtendBaseWidget(r)
	return r
}

// CreateRenderer lays the row out.
func (r *queueRow) CreateRenderer() fyne.WidgetRenderer {
	text := container.New(&rowTextLayout{}, r.name, r.state)
	return widget.NewSimpleRenderer(container.NewBorder(nil, nil, r.thumb, r.action, text))
}

// updateRow fills a row from the job it shows.
func (q *queuePanel) updateRow(id widget.ListItemID, o fyne.CanvasObject) {
	r, ok := o.(*queueRow)
	if !ok || id >= len(q.rows) {
		return
	}
	j := q.rows[id]
	st, reason, thumb := q.u.jobs.view(j)
	r.name.SetText(quote.Text(j.name)) // a name's newlines and escapes are shown, not obeyed
	if thumb == nil {
		r.thumb.Image, r.thumb.Resource = nil, theme.FileImageIcon()
		r.thumb.Refresh()
	} else if r.thumb.Image != thumb {
		r.thumb.Image, r.thumb.Resource = thumb, nil
		r.thumb.Refresh()
	}
	text := st.String()
	r.state.Importance = widget.MediumImportance
	switch st {
	case stateFailed:
		text = reason
		r.state.Importance = widget.DangerImportance
	case stateDone:
		r.state.Importance = widget.SuccessImportance
		if q.u.isSaved(j) {
			text = "done · saved"
		} else if j.saved != "" {
			text = "done · changed since saved"
		}
	case stateCancelled, stateWaiting:
		r.state.Importance = widget.LowImportance
	}
	r.state.SetText(quote.Text(text))
	switch st {
	case stateFailed, stateCancelled:
		r.action.SetIcon(theme.ViewRefreshIcon())
		r.action.OnTapped = func() { q.u.jobs.retry(j) }
		r.action.Show()
	case stateDone:
		r.action.Hide()
	default:
		r.action.SetIcon(theme.CancelIcon())
		r.action.OnTapped = func() { q.u.jobs.cancel(j) }
		r.action.Show()
	}
}

// update shows the jobs' current states and the overall progress.
func (q *queuePanel) update() {
	rows, c := q.u.jobs.snapshot()
	q.rows, q.counts = rows, c
	q.list.Refresh()
	if c.total == 0 {
		q.empty.Show()
		q.progress.SetValue(0)
		q.count.SetText("No photos yet")
	} else {
		q.empty.Hide()
		q.progress.SetValue(float64(c.finished()) / float64(c.total))
		text := fmt.Sprintf("%d of %d done", c.done, c.total)
		if c.failed > 0 {
			text += fmt.Sprintf(" · %d failed", c.failed)
		}
		if c.cancelled > 0 {
			text += fmt.Sprintf(" · %d cancelled", c.cancelled)
		}
		if left := c.total - c.finished(); left > 0 {
			text += fmt.Sprintf(" · %d to go", left)
		}
		q.count.SetText(text)
	}
	if c.finished() < c.total {
		q.cancel.Enable()
	} else {
		q.cancel.Disable()
	}
	enable(q.clear, c.finished() > 0)
	enable(q.retry, c.failed+c.cancelled > 0)
	if q.u.exportBtn != nil {
		enable(q.u.exportBtn, c.done > 0)
		st := stateWaiting
		if q.u.selected != nil {
			st, _, _ = q.u.jobs.view(q.u.selected)
		}
		enable(q.u.saveBtn, st == stateDone)
	}
}

// enable enables or disables b.
func enable(b *widget.Button, on bool) {
	if on {
		b.Enable()
	} else {
		b.Disable()
	}
}

// onClear drops finished jobs from the list (the selected one stays). Cut-outs that were
// never exported, or changed since, are work the user would lose: it asks first, and
// "Keep unsaved" clears only the rest.
func (q *queuePanel) onClear() {
	unsaved := 0
	for _, j := range q.rows {
		if st, _, _ := q.u.jobs.view(j); st == stateDone && j != q.u.selected && !q.u.isSaved(j) {
			unsaved++
		}
	}
	clear := func(all bool) {
		q.u.jobs.clearFinished(q.u.selected, func(j *job, st state) bool {
			return !all && st == stateDone && !q.u.isSaved(j)
		})
		q.update()
		q.reselect()
	}
	if unsaved == 0 {
		clear(true)
		return
	}
	msg := fmt.Sprintf("%d cut-out(s) have not been saved since their last change. Clearing them loses their edits.", unsaved)
	if unsaved == 1 {
		msg = "1 cut-out has not been saved since its last change. Clearing it loses its edits."
	}
	// Three answers, so that closing the question (Escape, Cancel) changes nothing.
	var d dialog.Dialog
	answer := func(all bool) func() {
		return func() {
			d.Hide()
			clear(all)
		}
	}
	all := widget.NewButton("Clear them too", answer(true))
	all.Importance = widget.DangerImportance
	keep := widget.NewButton("Keep unsaved", answer(false))
	keep.Importance = widget.HighImportance
	label := widget.NewLabel(msg)
	label.Wrapping = fyne.TextWrapWord
	cd := dialog.NewCustomWithoutButtons("Clear finished photos?", container.NewGridWrap(fyne.NewSize(420, 70), label), q.u.win)
	cd.SetButtons([]fyne.CanvasObject{widget.NewButton("Cancel", func() { cd.Hide() }), keep, all})
	d = cd
	q.u.showDialog(d)
}

// reselect keeps the list's selection on the selected job after rows moved.
func (q *queuePanel) reselect() {
	for i, j := range q.rows {
		if j == q.u.selected {
			q.list.Select(i)
			return
		}
	}
	q.list.UnselectAll()
}

// indexOf returns the row of j, or -1.
func (q *queuePanel) indexOf(j *job) int {
	for i, r := range q.rows {
		if r == j {
			return i
		}
	}
	return -1
}

// rowTextLayout stacks the name over the state with no gap, so rows stay compact.
type rowTextLayout struct{}

func (*rowTextLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	var s fyne.Size
	for _, o := range objs {
		m := o.MinSize()
		s.Width = max(s.Width, m.Width)
		s.Height += m.Height - 2*theme.Padding()
	}
	return s.AddWidthHeight(0, 2*theme.Padding())
}

func (*rowTextLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	y := float32(0)
	for _, o := range objs {
		h := o.MinSize().Height
		o.Move(fyne.NewPos(0, y))
		o.Resize(fyne.NewSize(size.Width, h))
		y += h - 2*theme.Padding()
	}
}
