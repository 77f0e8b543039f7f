package ui

import (
	"fmt"
	"image/color"
	"math"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"cutout/engine/matte"
)

// Labels of the matte choices.
var (
	refineLabels = []string{"None (raw mask)", "Guided filter", "Closed-form"}
	bgLabels     = []string{"Transparent", "Colour", "Mask only"}
)

// panelWidth is the matte panel's width.
const panelWidth = 330

// mattePanel edits the finishing options of the selected photo; every change re-finishes
// the preview (the model does not run again).
type mattePanel struct {
	u *UI

	refine   *widget.Select
	fg       *numberField
	bg       *numberField
	erode    *numberField
	feather  *numberField
	shift    *numberField
	post     *widget.Check
	colours  *widget.Check
	strength *numberField // how much of the estimated edge colours is used, in %
	backdrop *widget.RadioGroup
	swatch   *canvas.Rectangle
	colour   color.NRGBA
	content  fyne.CanvasObject

	loading bool // set while the widgets are filled from a job: no change events
}

// newMattePanel builds the panel.
func newMattePanel(u *UI) *mattePanel {
	m := &mattePanel{u: u, colour: color.NRGBA{R: 255, G: 255, B: 255, A: 255}}
	m.refine = widget.NewSelect(refineLabels, func(string) { m.onChange() })
	m.fg = newNumberField(0, 255, 1, m.onChange)
	m.bg = newNumberField(0, 255, 1, m.onChange)
	m.erode = newNumberField(0, 100, 1, m.onChange)
	m.feather = newNumberField(0, 50, 0.5, m.onChange)
	m.shift = newNumberField(-50, 50, 1, m.onChange)
	m.post = widget.NewCheck("Clean up the mask", func(bool) { m.onChange() })
	m.colours = widget.NewCheck("Fix edge colours", func(bool) { m.onChange() })
	m.strength = newNumberField(0, 100, 5, m.onChange)
	m.backdrop = widget.NewRadioGroup(bgLabels, func(string) { m.onChange() })
	m.backdrop.Required = true
	m.swatch = canvas.NewRectangle(m.colour)
	m.swatch.StrokeColor = theme.Color(theme.ColorNameForeground)
	m.swatch.StrokeWidth = 1
	m.swatch.SetMinSize(fyne.NewSize(28, 28))
	pick := widget.NewButtonWithIcon("Colour…", theme.ColorPaletteIcon(), m.onPickColour)

	hint := func(s string) *widget.Label {
		l := widget.NewLabel(s)
		l.Wrapping = fyne.TextWrapWord
		l.Importance = widget.LowImportance
		l.SizeName = theme.SizeNameCaptionText
		return l
	}
	form := widget.NewForm(
		widget.NewFormItem("Edges", m.refine),
		widget.NewFormItem("Foreground ≥", m.fg.content),
		widget.NewFormItem("Background ≤", m.bg.content),
		widget.NewFormItem("Erosion (px)", m.erode.content),
		widget.NewFormItem("Feather (px)", m.feather.content),
		widget.NewFormItem("Shift (px)", m.shift.content),
	)
	buttons := container.NewGridWithColumns(2,
		widget.NewButtonWithIcon("Reset", theme.ContentUndoIcon(), m.onReset),
		widget.NewButtonWithIcon("Use for all", theme.ContentCopyIcon(), m.onApplyAll))
	width := canvas.NewRectangle(color.Transparent)
	width.SetMinSize(fyne.NewSize(panelWidth, 0))
	m.content = container.NewStack(width, container.NewVScroll(container.NewPadded(container.NewVBox(
		widget.NewLabelWithStyle("Finishing", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		form,
		hint("Thresholds and erosion shape the trimap that closed-form matting solves; feather softens and shift grows (+) or shrinks (−) the final edge. Distances are in pixels of the photo."),
		m.post, m.colours,
		widget.NewForm(widget.NewFormItem("Strength (%)", m.strength.content)),
		hint("Clean up: rembg's post-processing (a hard edge, no specks). Fix edge colours: remove the old background's halo from soft edges."),
		widget.NewSeparator(),
		widget.NewLabelWithStyle("Background", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		m.backdrop,
		container.NewHBox(m.swatch, pick),
		widget.NewSeparator(),
		buttons,
		widget.NewButtonWithIcon("Save as default", theme.DocumentSaveIcon(), m.onSaveDefault),
	))))
	m.set(u.set.Matte)
	return m
}

// set fills the widgets from o without reporting changes.
func (m *mattePanel) set(o matte.Options) {
	m.loading = true
	defer func() { m.loading = false }()
	m.refine.SetSelected(refineLabels[o.Refine])
	m.fg.set(float64(o.FGThreshold))
	m.bg.set(float64(o.BGThreshold))
	m.erode.set(float64(o.Erode))
	m.feather.set(o.Feather)
	m.shift.set(float64(o.Shift))
	m.post.SetChecked(o.PostProcess)
	m.colours.SetChecked(o.EstimateForeground)
	m.strength.set(math.Round(o.EdgeColourStrength * 100))
	m.backdrop.SetSelected(bgLabels[o.Background])
	if o.Color.A != 0 {
		m.colour = o.Color
	}
	m.swatch.FillColor = m.colour
	m.swatch.Refresh()
	m.enable(o)
}

// options reads the widgets into a copy of base.
func (m *mattePanel) options(base matte.Options) matte.Options {
	o := base
	for i, l := range refineLabels {
		if m.refine.Selected == l {
			o.Refine = matte.Refine(i)
		}
	}
	o.FGThreshold = int(m.fg.value())
	o.BGThreshold = min(int(m.bg.value()), o.FGThreshold)
	o.Erode = int(m.erode.value())
	o.Feather = m.feather.value()
	o.Shift = int(m.shift.value())
	o.PostProcess = m.post.Checked
	o.EstimateForeground = m.colours.Checked
	o.EdgeColourStrength = m.strength.value() / 100
	for i, l := range bgLabels {
		if m.backdrop.Selected == l {
			o.Background = matte.Background(i)
		}
	}
	o.Color = m.colour
	return o
}

// enable greys out what the current refinement does not use.
func (m *mattePanel) enable(o matte.Options) {
	cf := o.Refine == matte.RefineClosedForm
	for _, f := range []*numberField{m.fg, m.bg, m.erode} {
		f.enable(cf)
	}
	m.strength.enable(o.EstimateForeground && o.Background != matte.BackgroundMask)
}

// onChange applies the widgets to the selected job and re-finishes its preview.
func (m *mattePanel) onChange() {
	if m.loading {
		return
	}
	j := m.u.selected
	base := m.u.set.Matte
	if j != nil {
		base = j.opts
	}
	o := m.options(base)
	if o.Refine != base.Refine && o.Refine == matte.RefineClosedForm && !base.EstimateForeground {
		o.EstimateForeground = true // the mode that makes wide soft edges needs the colours fixed
		m.loading = true
		m.colours.SetChecked(true)
		m.loading = false
	}
	m.enable(o)
	if j == nil {
		return
	}
	j.opts = o
	m.u.preview.requestRender()
}

// onPickColour chooses the background colour.
func (m *mattePanel) onPickColour() {
	d := dialog.NewColorPicker("Background colour", "The colour the cut-out is laid over", func(c color.Color) {
		m.colour = color.NRGBAModel.Convert(c).(color.NRGBA)
		m.colour.A = 255
		m.swatch.FillColor = m.colour
		m.swatch.Refresh()
		m.loading = true
		m.backdrop.SetSelected(bgLabels[matte.BackgroundColor])
		m.loading = false
		m.onChange()
	}, m.u.win)
	d.Advanced = true
	m.u.showDialog(d)
}

// onReset returns the selected photo to the default options.
func (m *mattePanel) onReset() {
	m.set(m.u.set.Matte)
	m.onChange()
}

// onApplyAll gives every photo the selected photo's options.
func (m *mattePanel) onApplyAll() {
	o := m.options(m.u.set.Matte)
	jobs, _ := m.u.jobs.snapshot()
	for _, j := range jobs {
		j.opts = o
	}
	m.u.setStatus(fmt.Sprintf("These finishing options now apply to all %d photos.", len(jobs)))
}

// onSaveDefault makes the current options the default for new photos, and saves them.
func (m *mattePanel) onSaveDefault() {
	m.u.set.Matte = m.options(m.u.set.Matte)
	m.u.set.save(m.u.prefs)
	m.u.setStatus("Saved these finishing options as the default for new photos.")
}

// numberField is a slider with an entry showing its value; either edits it.
type numberField struct {
	slider  *widget.Slider
	entry   *widget.Entry
	content fyne.CanvasObject
	step    float64
	changed func()
	quiet   bool
}

// newNumberField makes a field for values in [lo, hi] in steps of step.
func newNumberField(lo, hi, step float64, changed func()) *numberField {
	f := &numberField{slider: widget.NewSlider(lo, hi), entry: widget.NewEntry(), step: step, changed: changed}
	f.slider.Step = step
	f.slider.OnChanged = func(v float64) {
		f.entry.SetText(f.format(v))
		if !f.quiet {
			f.changed()
		}
	}
	f.entry.OnSubmitted = func(s string) { f.onEntry(s) }
	f.entry.OnChanged = func(s string) {
		if v, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil && f.format(v) == strings.TrimSpace(s) && v != f.slider.Value {
			f.onEntry(s)
		}
	}
	entry := container.NewGridWrap(fyne.NewSize(64, f.entry.MinSize().Height), f.entry)
	f.content = container.NewBorder(nil, nil, nil, entry, f.slider)
	return f
}

// onEntry applies a typed value (clamped to the range).
func (f *numberField) onEntry(s string) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(v) {
		f.entry.SetText(f.format(f.slider.Value))
		return
	}
	f.slider.SetValue(min(max(v, f.slider.Min), f.slider.Max))
}

func (f *numberField) format(v float64) string {
	if f.step < 1 {
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.Itoa(int(math.Round(v)))
}

// set shows v without reporting a change.
func (f *numberField) set(v float64) {
	f.quiet = true
	f.slider.SetValue(v)
	f.entry.SetText(f.format(v))
	f.quiet = false
}

func (f *numberField) value() float64 { return f.slider.Value }

func (f *numberField) enable(on bool) {
	if on {
		f.slider.Enable()
		f.entry.Enable()
	} else {
		f.slider.Disable()
		f.entry.Disable()
	}
}
