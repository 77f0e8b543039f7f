package ui

import (
	"fmt"
	"image/color"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"cutout/engine/matte"
)

// Theme choices.
const (
	themeSystem = "Follow the system"
	themeLight  = "Light"
	themeDark   = "Dark"
)

// settings are the user's choices, persisted with Fyne's preferences.
type settings struct {
	Engine EngineSettings
	OutDir string        // default export folder ("" asks)
	Export ExportFormat  // the format and framing of Save and Export all
	Matte  matte.Options // finishing options of new photos
	Theme  string        // themeSystem, themeLight or themeDark
}

// Preference keys.
const (
	keyModel, keyThreads           = "engine.model", "engine.threads"
	keyMaxMB, keyMaxSide, keyMaxMP = "limits.maxMB", "limits.maxSide", "limits.maxMegapixels"
	keyOutDir, keyTheme            = "export.folder", "ui.theme"
	keyFormat, keyFrame            = "export.format", "export.frame"
	keyRefine, keyFG, keyBG        = "matte.refine", "matte.fgThreshold", "matte.bgThreshold"
	keyErode, keyFeather, keyShift = "matte.erode", "matte.feather", "matte.shift"
	keyPost, keyColours            = "matte.postProcess", "matte.estimateForeground"
	keyStrength                    = "matte.edgeColourStrength"
	keyBackground, keyColour       = "matte.background", "matte.color"
)

// loadSettings reads the settings from p; what is missing comes from def and the package
// defaults.
func loadSettings(p fyne.Preferences, def EngineSettings) settings {
	s := settings{Engine: def, Matte: matte.DefaultOptions(), Theme: themeSystem}
	s.Engine.Model = p.StringWithFallback(keyModel, def.Model)
	s.Engine.Threads = p.IntWithFallback(keyThreads, def.Threads)
	s.Engine.MaxMB = p.IntWithFallback(keyMaxMB, def.MaxMB)
	s.Engine.MaxSide = p.IntWithFallback(keyMaxSide, def.MaxSide)
	s.Engine.MaxMegapixels = p.FloatWithFallback(keyMaxMP, def.MaxMegapixels)
	s.OutDir = p.String(keyOutDir)
	s.Export = ExportFormat{Format: p.StringWithFallback(keyFormat, "png"), Frame: p.String(keyFrame)}
	if indexOf(formatValues, s.Export.Format) < 0 || indexOf(frameValues, s.Export.Frame) < 0 {
		s.Export = ExportFormat{Format: "png"}
	}
	s.Theme = p.StringWithFallback(keyTheme, themeSystem)
	o := &s.Matte
	if r, err := matte.ParseRefine(p.StringWithFallback(keyRefine, o.Refine.String())); err == nil {
		*o = matte.DefaultOptionsFor(r)
	}
	o.FGThreshold = p.IntWithFallback(keyFG, o.FGThreshold)
	o.BGThreshold = p.IntWithFallback(keyBG, o.BGThreshold)
	o.Erode = p.IntWithFallback(keyErode, o.Erode)
	o.Feather = p.FloatWithFallback(keyFeather, o.Feather)
	o.Shift = p.IntWithFallback(keyShift, o.Shift)
	o.PostProcess = p.BoolWithFallback(keyPost, o.PostProcess)
	o.EstimateForeground = p.BoolWithFallback(keyColours, o.EstimateForeground)
	o.EdgeColourStrength = p.FloatWithFallback(keyStrength, o.EdgeColourStrength)
	if b, err := matte.ParseBackground(p.StringWithFallback(keyBackground, o.Background.String())); err == nil {
		o.Background = b
	}
	if c, err := parseColour(p.String(keyColour)); err == nil {
		o.Color = c
	}
	if o.Validate() != nil { // a damaged preferences file must not break the app
		s.Matte = matte.DefaultOptions()
	}
	return s
}

// save writes the settings to p.
func (s settings) save(p fyne.Preferences) {
	p.SetString(keyModel, s.Engine.Model)
	p.SetInt(keyThreads, s.Engine.Threads)
	p.SetInt(keyMaxMB, s.Engine.MaxMB)
	p.SetInt(keyMaxSide, s.Engine.MaxSide)
	p.SetFloat(keyMaxMP, s.Engine.MaxMegapixels)
	p.SetString(keyOutDir, s.OutDir)
	p.SetString(keyFormat, s.Export.Format)
	p.SetString(keyFrame, s.Export.Frame)
	p.SetString(keyTheme, s.Theme)
	o := s.Matte
	p.SetString(keyRefine, o.Refine.String())
	p.SetInt(keyFG, o.FGThreshold)
	p.SetInt(keyBG, o.BGThreshold)
	p.SetInt(keyErode, o.Erode)
	p.SetFloat(keyFeather, o.Feather)
	p.SetInt(keyShift, o.Shift)
	p.SetBool(keyPost, o.PostProcess)
	p.SetBool(keyColours, o.EstimateForeground)
	p.SetFloat(keyStrength, o.EdgeColourStrength)
	p.SetString(keyBackground, o.Background.String())
	p.SetString(keyColour, formatColour(o.Color))
}

// formatColour writes c as #rrggbb.
func formatColour(c color.NRGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

// parseColour reads #rrggbb.
func parseColour(s string) (color.NRGBA, error) {
	h := strings.TrimPrefix(strings.TrimSpace(s), "#")
	v, err := strconv.ParseUint(h, 16, 32)
	if err != nil || len(h) != 6 {
		return color.NRGBA{}, fmt.Errorf("colour %q: want #RRGGBB", s)
	}
	return color.NRGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 255}, nil
}

// settingsPanel is the Settings dialog's form.
type settingsPanel struct {
	u       *UI
	model   *widget.Select
	outDir  *widget.Entry
	threads *widget.Entry
	maxMB   *widget.Entry
	maxSide *widget.Entry
	maxMP   *widget.Entry
	theme   *widget.Select
	format  *widget.Select
	frame   *widget.Select
	form    *widget.Form
	dialog  dialog.Dialog
}

// newSettingsPanel builds the form from the current settings.
func newSettingsPanel(u *UI) *settingsPanel {
	s := u.set
	p := &settingsPanel{u: u}
	models := u.b.Models()
	p.model = widget.NewSelect(models, nil)
	p.model.PlaceHolder = "(the default model)"
	if s.Engine.Model != "" {
		p.model.SetSelected(s.Engine.Model)
	}
	p.outDir = widget.NewEntry()
	p.outDir.SetPlaceHolder("ask every time")
	p.outDir.SetText(s.OutDir)
	browse := widget.NewButtonWithIcon("", theme.FolderOpenIcon(), p.onBrowse)
	intEntry := func(v int, lo int) *widget.Entry {
		e := widget.NewEntry()
		e.SetText(strconv.Itoa(v))
		e.Validator = func(t string) error {
			n, err := strconv.Atoi(strings.TrimSpace(t))
			if err != nil || n < lo {
				return fmt.Errorf("enter a whole number of at least %d", lo)
			}
			return nil
		}
		return e
	}
	p.threads = intEntry(s.Engine.Threads, 0)
	p.maxMB = intEntry(s.Engine.MaxMB, 1)
	p.maxSide = intEntry(s.Engine.MaxSide, 16)
	p.maxMP = widget.NewEntry()
	p.maxMP.SetText(strconv.FormatFloat(s.Engine.MaxMegapixels, 'f', -1, 64))
	p.maxMP.Validator = func(t string) error {
		if v, err := strconv.ParseFloat(strings.TrimSpace(t), 64); err != nil || v <= 0 {
			return fmt.Errorf("enter a number of megapixels above 0")
		}
		return nil
	}
	p.theme = widget.NewSelect([]string{themeSystem, themeLight, themeDark}, nil)
	p.theme.SetSelected(s.Theme)
	p.format = widget.NewSelect(formatChoices, nil)
	p.format.SetSelectedIndex(max(indexOf(formatValues, s.Export.Format), 0))
	p.frame = widget.NewSelect(frameChoices, nil)
	p.frame.SetSelectedIndex(max(indexOf(frameValues, s.Export.Frame), 0))
	item := func(label string, w fyne.CanvasObject, hint string) *widget.FormItem {
		it := widget.NewFormItem(label, w)
		it.HintText = hint
		return it
	}
	p.form = widget.NewForm(
		item("Model", p.model, "Which model cuts out the photos"),
		item("Export folder", container.NewBorder(nil, nil, nil, browse, p.outDir), "Where Save and Export All write"),
		item("Export as", p.format, "The file format of Save and Export All"),
		item("Framing", p.frame, "Crop to the subject, or the shop's square"),
		item("Engine threads", p.threads, "0: one per core"),
		item("Largest file (MiB)", p.maxMB, "Bigger files are refused"),
		item("Longest side (px)", p.maxSide, "Wider or taller images are refused"),
		item("Most megapixels", p.maxMP, "Images with more pixels are refused"),
		item("Theme", p.theme, ""),
	)
	return p
}

// show opens the dialog.
func (p *settingsPanel) show() {
	d := dialog.NewCustomConfirm("Settings", "Save", "Cancel", p.form, p.onSubmit, p.u.win)
	d.Resize(fyne.NewSize(560, 0).Max(d.MinSize()))
	p.dialog = d
	p.u.showDialog(d)
}

// onBrowse picks the export folder.
func (p *settingsPanel) onBrowse() {
	d := dialog.NewFolderOpen(func(l fyne.ListableURI, err error) {
		if err == nil && l != nil {
			p.outDir.SetText(l.Path())
		}
	}, p.u.win)
	if l, err := storage.ListerForURI(storage.NewFileURI(p.outDir.Text)); err == nil && p.outDir.Text != "" {
		d.SetLocation(l)
	}
	p.u.showDialog(d)
}

// read returns the settings the form holds, or an error naming the field to fix.
func (p *settingsPanel) read() (settings, error) {
	if err := p.form.Validate(); err != nil {
		return settings{}, fmt.Errorf("a setting needs fixing: %v", err)
	}
	s := p.u.set
	s.Engine.Model = p.model.Selected
	s.Engine.Threads, _ = strconv.Atoi(strings.TrimSpace(p.threads.Text))
	s.Engine.MaxMB, _ = strconv.Atoi(strings.TrimSpace(p.maxMB.Text))
	s.Engine.MaxSide, _ = strconv.Atoi(strings.TrimSpace(p.maxSide.Text))
	s.Engine.MaxMegapixels, _ = strconv.ParseFloat(strings.TrimSpace(p.maxMP.Text), 64)
	s.OutDir = strings.TrimSpace(p.outDir.Text)
	s.Theme = p.theme.Selected
	s.Export = ExportFormat{Format: formatValues[max(p.format.SelectedIndex(), 0)], Frame: frameValues[max(p.frame.SelectedIndex(), 0)]}
	return s, nil
}

// onSubmit saves and applies the settings.
func (p *settingsPanel) onSubmit(ok bool) {
	if !ok {
		return
	}
	s, err := p.read()
	if err != nil {
		p.u.showError(err)
		return
	}
	p.u.applySettings(s)
}

// themeFor returns the theme for a Theme choice: the default one follows the system.
func themeFor(choice string) fyne.Theme {
	switch choice {
	case themeLight:
		return cutoutTheme{held: true, variant: theme.VariantLight}
	case themeDark:
		return cutoutTheme{held: true, variant: theme.VariantDark}
	}
	return cutoutTheme{}
}

// indexOf is the index of v in list, or -1.
func indexOf(list []string, v string) int {
	for i, s := range list {
		if s == v {
			return i
		}
	}
	return -1
}
