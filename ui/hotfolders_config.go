package ui

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"cutout/engine/matte"
)

// A hot folder's configuration: the choices of the Add dialog, the dialog, and how the
// configurations are remembered.

// The choices of the Add dialog, in the order shown, with the values they stand for.
var (
	formatChoices = []string{"PNG with transparency", "WebP with transparency (lossless)", "JPEG on white"}
	formatValues  = []string{"png", "webp", "jpeg"}
	frameChoices  = []string{"As photographed", "Cropped to the subject", "Square 2000 × 2000, 5 % margin (shop)"}
	frameValues   = []string{"", "crop", "square"}
)

// loadHotFolders reads the remembered hot folders from p; a damaged entry is dropped.
func loadHotFolders(p fyne.Preferences) []HotFolderConfig {
	var saved []struct {
		In, Out, Refine, Format, Frame string
		Recursive, Move, Enabled       bool
	}
	if err := json.Unmarshal([]byte(p.String(keyHotFolders)), &saved); err != nil {
		return nil
	}
	var out []HotFolderConfig
	for _, s := range saved {
		r, err := matte.ParseRefine(s.Refine)
		if s.In == "" || s.Out == "" || err != nil {
			continue
		}
		out = append(out, HotFolderConfig{In: s.In, Out: s.Out, Recursive: s.Recursive, MoveOriginals: s.Move,
			Refine: r, Format: s.Format, Frame: s.Frame, Enabled: s.Enabled})
	}
	return out
}

// saveHotFolders remembers list in p.
func saveHotFolders(p fyne.Preferences, list []HotFolder) {
	type saved struct {
		In, Out, Refine, Format, Frame string
		Recursive, Move, Enabled       bool
	}
	out := make([]saved, 0, len(list))
	for _, h := range list {
		out = append(out, saved{In: h.In, Out: h.Out, Refine: h.Refine.String(), Format: h.Format, Frame: h.Frame,
			Recursive: h.Recursive, Move: h.MoveOriginals, Enabled: h.Enabled})
	}
	b, _ := json.Marshal(out)
	p.SetString(keyHotFolders, string(b))
}

// onAdd asks for a new hot folder: its folders and options.
func (p *hotPanel) onAdd() {
	in, out := widget.NewEntry(), widget.NewEntry()
	in.SetPlaceHolder("the folder to watch")
	out.SetPlaceHolder("where the cut-outs go")
	browse := func(e *widget.Entry) fyne.CanvasObject {
		b := widget.NewButtonWithIcon("", theme.FolderOpenIcon(), func() {
			d := dialog.NewFolderOpen(func(l fyne.ListableURI, err error) {
				if err == nil && l != nil {
					e.SetText(l.Path())
				}
			}, p.u.win)
			if l, err := storage.ListerForURI(storage.NewFileURI(e.Text)); err == nil && e.Text != "" {
				d.SetLocation(l)
			}
			d.Resize(fyne.NewSize(800, 560))
			p.u.showDialog(d)
		})
		return container.NewBorder(nil, nil, nil, b, e)
	}
	recursive := widget.NewCheck("Also watch the folders inside", nil)
	keep, move := "Keep them where they are", "Move them to IN/.cutout-done"
	originals := widget.NewRadioGroup([]string{keep, move}, nil)
	originals.SetSelected(keep)
	refines := []string{"None: the model's mask", "Guided filter: fast", "Closed-form matting: best on hair, slower"}
	refine := widget.NewSelect(refines, nil)
	refine.SetSelectedIndex(int(p.u.set.Matte.Refine))
	format := widget.NewSelect(formatChoices, nil)
	format.SetSelectedIndex(0)
	frame := widget.NewSelect(frameChoices, nil)
	frame.SetSelectedIndex(0)
	start := widget.NewCheck("Start watching now", nil)
	start.SetChecked(true)
	form := widget.NewForm(
		widget.NewFormItem("Watch", browse(in)),
		widget.NewFormItem("Cut-outs to", browse(out)),
		widget.NewFormItem("Subfolders", recursive),
		widget.NewFormItem("Originals", originals),
		widget.NewFormItem("Edges", refine),
		widget.NewFormItem("Format", format),
		widget.NewFormItem("Framing", frame),
		widget.NewFormItem("", start),
	)
	d := dialog.NewCustomConfirm("Add hot folder", "Add", "Cancel", form, func(ok bool) {
		if !ok {
			return
		}
		c := HotFolderConfig{In: strings.TrimSpace(in.Text), Out: strings.TrimSpace(out.Text), Recursive: recursive.Checked,
			MoveOriginals: originals.Selected == move, Refine: matte.Refine(max(refine.SelectedIndex(), 0)),
			Format: formatValues[max(format.SelectedIndex(), 0)], Frame: frameValues[max(frame.SelectedIndex(), 0)], Enabled: start.Checked}
		if err := p.check(c); err != nil {
			p.u.showError(err)
			return
		}
		p.add(c)
	}, p.u.win)
	d.Resize(fyne.NewSize(640, 0).Max(d.MinSize()))
	p.u.showDialog(d)
}

// check refuses a hot folder that cannot work, with a sentence that names the folder.
func (p *hotPanel) check(c HotFolderConfig) error {
	if c.In == "" || c.Out == "" {
		return errors.New("choose both the folder to watch and the folder for the cut-outs")
	}
	if fi, err := os.Stat(c.In); err != nil || !fi.IsDir() {
		return fmt.Errorf("the folder %s does not exist or is not a folder; choose another one to watch", c.In)
	}
	for _, f := range p.rows {
		if filepath.Clean(f.Out) == filepath.Clean(c.Out) {
			return fmt.Errorf("the output folder %s already receives the cut-outs of the hot folder %s; "+
				"choose another output folder (one output folder serves one hot folder)", c.Out, f.In)
		}
	}
	return nil
}
