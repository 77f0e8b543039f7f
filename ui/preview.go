package ui

import (
	"fmt"
	"image"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"cutout/engine/matte"
	"cutout/internal/quote"
)

// Labels of the preview's choices.
const (
	modeAfter, modeBefore, modeSplit = "Cut-out", "Original", "Compare"
	modeTrimap                       = "Trimap"
	toolNameMove, toolNameKeep       = "Move", "Keep"
	toolNameRemove                   = "Remove"
)

// previewPanel shows the selected job: its cut-out on the display copy, re-finished on a
// goroutine whenever an option or a stroke changes; or, until there is one, what the job is
// doing or why it failed.
type previewPanel struct {
	u *UI

	view      *imageView
	mode      *widget.Select
	split     *widget.Slider
	tools     *widget.RadioGroup
	brush     *widget.Slider
	undo      *widget.Button
	redo      *widget.Button
	clear     *widget.Button
	zoomLabel *widget.Label
	info      *widget.Label
	busy      *widget.Activity

	msgIcon  *widget.Icon
	msgTitle *widget.Label
	msgText  *widget.Label
	msgBtn   *widget.Button
	msgBusy  *widget.ProgressBarInfinite
	message  fyne.CanvasObject
	content  fyne.CanvasObject

	job   *job      // the job shown (nil: none)
	shown state     // the job's state when the panel last showed it
	why   string    // and its reason
	res   *result   // its images, when cached
	out   *finished // the last preview of res
	views [2]*image.NRGBA
	flip  int
	gen   uint64 // the newest render request

	mu         sync.Mutex // guards next and running, shared with the render goroutine
	next       *renderReq // the request waiting to run
	running    bool       // a render goroutine is running
	stroke     *stroke    // the stroke being painted
	elapsed    time.Duration
	strokeV    uint64         // bumped whenever the shown strokes change
	session    *matte.Session // the render goroutine's, for the image it last finished
	sessionImg *image.NRGBA
}

// renderReq is one preview computation: everything it needs, copied, so the UI can go on.
type renderReq struct {
	gen     uint64
	disp    displayCopy
	hints   *matte.Hints
	opts    matte.Options
	strokes uint64 // the strokes' version: the session re-solves the matte when it changes
}

// newPreviewPanel builds the panel.
func newPreviewPanel(u *UI) *previewPanel {
	p := &previewPanel{u: u, view: newImageView()}
	p.view.onZoom = p.onZoom
	p.view.onPaint = p.onPaint
	p.view.onStrokeEnd = p.onStrokeEnd

	p.mode = widget.NewSelect([]string{modeAfter, modeBefore, modeSplit, modeTrimap}, nil)
	p.mode.SetSelected(modeAfter)
	p.mode.OnChanged = func(string) { p.onCompare() }
	p.split = widget.NewSlider(0, 1)
	p.split.Step = 0.001
	p.split.Value = 0.5
	p.split.OnChanged = func(float64) { p.onCompare() }
	p.split.Hide()

	p.tools = widget.NewRadioGroup([]string{toolNameMove, toolNameKeep, toolNameRemove}, nil)
	p.tools.Horizontal = true
	p.tools.Required = true
	p.tools.SetSelected(toolNameMove)
	p.tools.OnChanged = p.onTool
	p.brush = widget.NewSlider(4, 120)
	p.brush.Value = float64(p.view.brush)
	p.brush.OnChanged = func(v float64) { p.view.brush = float32(v); p.view.Refresh() }
	p.undo = widget.NewButtonWithIcon("", theme.ContentUndoIcon(), p.onUndo)
	p.redo = widget.NewButtonWithIcon("", theme.ContentRedoIcon(), p.onRedo)
	p.clear = widget.NewButtonWithIcon("Clear", theme.ContentClearIcon(), p.onClearStrokes)

	p.zoomLabel = widget.NewLabel("Fit")
	p.info = widget.NewLabel("")
	p.info.Truncation = fyne.TextTruncateEllipsis
	p.busy = widget.NewActivity()
	p.busy.Hide()

	p.msgIcon = widget.NewIcon(theme.UploadIcon())
	p.msgTitle = widget.NewLabelWithStyle("", fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	p.msgText = widget.NewLabelWithStyle("", fyne.TextAlignCenter, fyne.TextStyle{})
	p.msgText.Wrapping = fyne.TextWrapWord
	p.msgBtn = widget.NewButton("", nil)
	p.msgBusy = widget.NewProgressBarInfinite()
	p.msgBusy.Stop()
	p.msgBusy.Hide()
	icon := container.NewGridWrap(fyne.NewSize(64, 64), p.msgIcon)
	p.message = container.NewCenter(container.NewVBox(container.NewCenter(icon), p.msgTitle,
		container.NewGridWrap(fyne.NewSize(420, 70), p.msgText), p.msgBusy, container.NewCenter(p.msgBtn)))

	zoom := container.NewHBox(
		widget.NewButtonWithIcon("Fit", theme.ZoomFitIcon(), p.view.fitToWindow),
		widget.NewButton("100 %", p.onActualSize),
		widget.NewButtonWithIcon("", theme.ZoomOutIcon(), func() { p.view.setZoom(p.view.zoom/1.25, nil) }),
		widget.NewButtonWithIcon("", theme.ZoomInIcon(), func() { p.view.setZoom(p.view.zoom*1.25, nil) }),
		// As wide as its widest text ("1600 %"), so the toolbar never shifts when it changes.
		container.NewGridWrap(fyne.NewSize(widgetTextWidth("1600 %"), p.zoomLabel.MinSize().Height), p.zoomLabel))
	bar1 := container.NewBorder(nil, nil, container.NewHBox(zoom, widget.NewSeparator(), p.mode), nil, p.split)
	bar2 := container.NewBorder(nil, nil, container.NewHBox(p.tools, widget.NewLabel("Brush")),
		container.NewHBox(p.undo, p.redo, p.clear), p.brush)
	bottom := container.NewBorder(nil, nil, nil, p.busy, p.info)
	p.content = container.NewBorder(container.NewVBox(bar1, bar2), bottom, nil, nil,
		container.NewStack(p.view, p.message))
	p.showJob(nil)
	return p
}

// showJob shows j (nil: the drop hint), as far as it has come.
func (p *previewPanel) showJob(j *job) {
	if j != p.job {
		p.job, p.res, p.out, p.shown = j, nil, nil, -1
		p.gen++
		p.strokeV++
		p.view.setImage(nil, false)
		p.onZoom() // the new photo starts fitted: never the previous one's zoom
	}
	p.refreshJob()
}

// refreshJob updates the panel after the shown job changed state.
func (p *previewPanel) refreshJob() {
	j := p.job
	if j == nil {
		p.showMessage(theme.UploadIcon(), "Drop photos here",
			"Drop photos or whole folders onto the window, or use Open (Ctrl+O). "+
				"Each photo is cut out on this computer; nothing is uploaded.", "Open…", p.u.onOpen)
		return
	}
	st, reason, _ := p.u.jobs.view(j)
	if st == p.shown && reason == p.why && (st != stateDone || p.res != nil) {
		return // nothing new: keep the animation and the view as they are
	}
	p.shown, p.why = st, reason
	switch st {
	case stateDone:
		if p.res == nil {
			res := p.u.jobs.use(j, true)
			if res == nil {
				p.showMessage(theme.ViewRefreshIcon(), j.name, "Preparing the cut-out again (it was set aside to save memory)…", "", nil)
				return
			}
			p.res, p.out = res, nil
			if j.scale == 0 {
				j.scale = res.disp.scale
			}
			p.view.setImage(res.disp.img, false)
			p.onZoom()
			p.hideMessage()
			p.updateTools()
			p.requestRender()
		}
	case stateFailed:
		p.showMessage(theme.ErrorIcon(), "Could not cut out "+quote.Name(j.name), reason, "Try again", func() { p.u.jobs.retry(j) })
	case stateCancelled:
		p.showMessage(theme.CancelIcon(), j.name, "Cancelled. Nothing was written.", "Try again", func() { p.u.jobs.retry(j) })
	default:
		p.showMessage(theme.FileImageIcon(), j.name, stateText(st), "Cancel", func() { p.u.jobs.cancel(j) })
		if st != stateWaiting {
			p.msgBusy.Show()
			p.msgBusy.Start()
		}
	}
}

// stateText describes a running state for the preview.
func stateText(s state) string {
	switch s {
	case stateValidating:
		return "Checking the file…"
	case stateCutting:
		return "Cutting out: the model is working on this photo…"
	}
	return "Waiting for its turn…"
}

func (p *previewPanel) showMessage(icon fyne.Resource, title, text, button string, tapped func()) {
	p.res, p.out = nil, nil
	p.view.setImage(nil, false)
	p.view.Hide()
	p.msgIcon.SetResource(icon)
	// Titles and texts carry file names and reasons: escaped, so that they cannot break
	// the layout or spoof a line.
	p.msgTitle.SetText(quote.Text(title))
	p.msgText.SetText(quote.Text(text))
	p.msgBtn.SetText(button)
	p.msgBtn.OnTapped = tapped
	if p.msgBusy.Visible() {
		p.msgBusy.Stop()
		p.msgBusy.Hide()
	}
	if tapped == nil {
		p.msgBtn.Hide()
	} else {
		p.msgBtn.Show()
	}
	p.message.Show()
	p.info.SetText("")
	p.updateTools()
}

func (p *previewPanel) hideMessage() {
	p.message.Hide()
	p.view.Show()
}

// requestRender re-finishes the preview with the job's current options and strokes, on
// the render goroutine; only the newest request runs, older ones are dropped.
func (p *previewPanel) requestRender() {
	j, res := p.job, p.res
	if j == nil || res == nil {
		return
	}
	p.gen++
	req := &renderReq{gen: p.gen, disp: res.disp, hints: cloneHints(j.hints), opts: j.opts.Scaled(res.disp.scale), strokes: p.strokeV}
	p.u.act.add()
	p.mu.Lock()
	if p.next != nil {
		p.u.act.done() // superseded before it ran
	}
	p.next = req
	start := !p.running
	p.running = true
	p.mu.Unlock()
	if start {
		go p.renderLoop()
	}
	p.busy.Show()
	p.busy.Start()
}

// renderLoop runs render requests until none is waiting.
func (p *previewPanel) renderLoop() {
	for {
		p.mu.Lock()
		req := p.next
		p.next = nil
		if req == nil {
			p.running = false
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		t0 := time.Now()
		var out finished
		err := safely(func() (err error) { out, err = p.finish(req); return err })
		el := time.Since(t0)
		p.u.do(func() {
			p.rendered(req, out, err, el)
			p.u.act.done()
		})
	}
}

// finish is the finishing stage of a preview (render goroutine): a matte.Session per shown
// image keeps the solved matte, so a change of feather, shift, edge colours or background
// does not solve it again.
func (p *previewPanel) finish(req *renderReq) (finished, error) {
	if p.session == nil || p.sessionImg != req.disp.img {
		p.session, p.sessionImg = matte.NewSession(req.disp.img, req.disp.mask), req.disp.img
	}
	out, a, err := p.session.Finish(req.hints, req.strokes, req.opts)
	return finished{out: out, alpha: a}, err
}

// rendered shows a finished preview, unless a newer request has been made since.
func (p *previewPanel) rendered(req *renderReq, out finished, err error, el time.Duration) {
	if req.gen != p.gen {
		return
	}
	p.busy.Stop()
	p.busy.Hide()
	if err != nil {
		p.info.SetText(describe(err, p.job.name))
		return
	}
	p.out = &out
	p.elapsed = el
	p.compose()
	p.updateInfo()
}

// compose builds the shown image from the preview, the photo and the strokes.
func (p *previewPanel) compose() {
	if p.res == nil {
		return
	}
	after := p.res.disp.img
	if p.out != nil {
		after = p.out.out
	}
	if p.mode.Selected == modeTrimap {
		after = grayToNRGBA(p.trimap())
	}
	mode := map[string]compareMode{modeAfter: showAfter, modeBefore: showBefore, modeSplit: showSplit}[p.mode.Selected]
	var hints *matte.Hints
	if p.view.tool != toolMove && p.job != nil {
		hints = p.job.hints
	}
	split := int(p.split.Value * float64(after.Rect.Dx()))
	p.flip ^= 1 // a new image each time, so the canvas uploads it again
	p.views[p.flip] = composeView(p.views[p.flip], after, p.res.disp.img, mode, split, hints)
	p.view.setImage(p.views[p.flip], true)
}

// trimap is the trimap of the shown job at display size, with its strokes: what
// closed-form matting solves (white: foreground, black: background, grey: unknown).
func (p *previewPanel) trimap() *image.Gray {
	o := p.job.opts.Scaled(p.res.disp.scale)
	t := matte.Trimap(p.res.disp.mask, o.FGThreshold, o.BGThreshold, o.Erode/2)
	matte.ApplyHints(t, p.job.hints)
	return t
}

// updateInfo shows the sizes, the zoom and the last preview time.
func (p *previewPanel) updateInfo() {
	if p.res == nil || p.job == nil {
		return
	}
	d := p.res.disp.img.Rect.Size()
	full := p.res.cut.Image.Bounds().Size()
	text := fmt.Sprintf("%s · %d × %d px", p.job.name, full.X, full.Y)
	if d != full {
		text += fmt.Sprintf(" (preview %d × %d)", d.X, d.Y)
	}
	text += fmt.Sprintf(" · refinement: %s · preview in %d ms", p.job.opts.Refine, p.elapsed.Milliseconds())
	p.info.SetText(text)
}

// onZoom shows the zoom in percent of the photo's pixels.
func (p *previewPanel) onZoom() {
	if p.res == nil || p.view.fit {
		p.zoomLabel.SetText("Fit")
		return
	}
	p.zoomLabel.SetText(fmt.Sprintf("%.0f %%", float64(p.view.zoom)*p.res.disp.scale*100))
}

// onActualSize zooms to one photo pixel per screen unit.
func (p *previewPanel) onActualSize() {
	if p.res == nil {
		return
	}
	p.view.setZoom(float32(1/p.res.disp.scale), nil)
}

// onCompare switches between cut-out, original and the split comparison.
func (p *previewPanel) onCompare() {
	if p.mode.Selected == modeSplit {
		p.split.Show()
	} else {
		p.split.Hide()
	}
	p.compose()
}

// onTool picks what dragging does; the strokes are tinted only while a brush is chosen.
func (p *previewPanel) onTool(name string) {
	p.view.tool = map[string]tool{toolNameMove: toolMove, toolNameKeep: toolKeep, toolNameRemove: toolRemove}[name]
	p.view.Refresh()
	p.compose()
}

// onPaint adds a piece of a stroke: drawn at once into the display hints (so the tint
// follows the pointer) and re-finished on the render goroutine.
func (p *previewPanel) onPaint(remove bool, from, to fpoint, radius float64) {
	j := p.job
	if j == nil || p.res == nil {
		return
	}
	if p.stroke == nil {
		p.stroke = &stroke{remove: remove, radius: radius, pts: []fpoint{from}}
	}
	p.stroke.pts = append(p.stroke.pts, to)
	if j.hints == nil {
		b := p.res.disp.img.Rect
		j.hints = newHints(b.Dx(), b.Dy())
	}
	paintStroke(j.hints, stroke{remove: remove, radius: p.stroke.radius, pts: []fpoint{from, to}}, 1)
	p.strokeV++
	p.compose()
	p.requestRender()
}

// onStrokeEnd records the finished stroke for undo.
func (p *previewPanel) onStrokeEnd() {
	if p.stroke != nil && p.job != nil {
		p.job.strokes.add(*p.stroke)
	}
	p.stroke = nil
	p.updateTools()
}

func (p *previewPanel) onUndo() {
	if p.job != nil && p.job.strokes.undo() {
		p.strokesChanged()
	}
}

func (p *previewPanel) onRedo() {
	if p.job != nil && p.job.strokes.redoOne() {
		p.strokesChanged()
	}
}

func (p *previewPanel) onClearStrokes() {
	if p.job == nil || len(p.job.strokes.done) == 0 {
		return
	}
	p.job.strokes = strokes{}
	p.strokesChanged()
}

// strokesChanged rasterises the job's strokes again and re-finishes the preview.
func (p *previewPanel) strokesChanged() {
	if p.res != nil {
		b := p.res.disp.img.Rect
		p.job.hints = p.job.strokes.hints(b.Dx(), b.Dy(), 1)
	}
	p.strokeV++
	p.updateTools()
	p.compose()
	p.requestRender()
}

// updateTools enables the stroke buttons that can do something.
func (p *previewPanel) updateTools() {
	can := func(b *widget.Button, ok bool) {
		if ok {
			b.Enable()
		} else {
			b.Disable()
		}
	}
	j := p.job
	ready := j != nil && p.res != nil
	can(p.undo, ready && len(j.strokes.done) > 0)
	can(p.redo, ready && len(j.strokes.redo) > 0)
	can(p.clear, ready && len(j.strokes.done) > 0)
}

// widgetTextWidth is the width a label needs for text in the current theme, padding included.
func widgetTextWidth(text string) float32 {
	return widget.NewLabel(text).MinSize().Width
}
