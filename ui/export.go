package ui

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"

	"cutout/engine/matte"
	"cutout/internal/quote"
)

// exportTask is what exporting one photo needs, copied on the UI goroutine.
type exportTask struct {
	j       *job
	opts    matte.Options
	strokes []stroke
	scale   float64 // the display copy's scale the strokes were painted at
	prev    string  // the photo's last export, which an export into the same folder replaces
	format  ExportFormat
	version string // exportVersion of what is exported
}

// task snapshots j for export.
func task(j *job, f ExportFormat) exportTask {
	t := exportTask{j: j, opts: j.opts, strokes: append([]stroke(nil), j.strokes.done...), scale: j.scale, prev: j.saved, format: f}
	t.version = exportVersion(t)
	return t
}

// exportVersion fingerprints what an export of the photo shows: its options and strokes.
func exportVersion(t exportTask) string {
	h := sha256.New()
	fmt.Fprintf(h, "%+v|%v|%+v", t.opts, t.scale, t.format)
	for _, s := range t.strokes {
		fmt.Fprintf(h, "|%v %v %v", s.remove, s.radius, s.pts)
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// isSaved reports whether j's last export shows what j shows now, in the format chosen now
// (UI goroutine).
func (u *UI) isSaved(j *job) bool {
	return j.saved != "" && j.savedVersion == exportVersion(task(j, u.set.Export))
}

// onSave exports the selected photo into the export folder (asking for one if none is set).
func (u *UI) onSave() {
	j := u.selected
	if j == nil {
		u.setStatus("Select a photo to save first.")
		return
	}
	if st, _, _ := u.jobs.view(j); st != stateDone {
		u.setStatus(fmt.Sprintf("%s is not cut out yet (%s).", quote.Name(j.name), st))
		return
	}
	t := task(j, u.set.Export)
	if u.set.OutDir != "" {
		u.export([]exportTask{t}, u.set.OutDir)
		return
	}
	u.chooseFolder(func(dir string) { u.export([]exportTask{t}, dir) })
}

// onExportAll exports every photo that is cut out into the export folder of Settings, or
// into a folder the user picks when none is set.
func (u *UI) onExportAll() {
	jobs, _ := u.jobs.snapshot()
	var tasks []exportTask
	for _, j := range jobs {
		if st, _, _ := u.jobs.view(j); st == stateDone {
			tasks = append(tasks, task(j, u.set.Export))
		}
	}
	if len(tasks) == 0 {
		u.setStatus("Nothing to export yet: no photo is cut out.")
		return
	}
	if u.set.OutDir != "" {
		u.export(tasks, u.set.OutDir)
		return
	}
	u.chooseFolder(func(dir string) { u.export(tasks, dir) })
}

// chooseFolder asks for the export folder, starting at the last one used.
func (u *UI) chooseFolder(then func(dir string)) {
	d := dialog.NewFolderOpen(func(l fyne.ListableURI, err error) {
		if err != nil {
			u.showError(fmt.Errorf("the folder could not be opened: %w", err))
			return
		}
		if l != nil {
			then(l.Path())
		}
	}, u.win)
	start := u.lastDir
	if start == "" {
		start = u.set.OutDir
	}
	if start != "" {
		if l, err := storage.ListerForURI(storage.NewFileURI(start)); err == nil {
			d.SetLocation(l)
		}
	}
	d.SetConfirmText("Export here")
	d.SetTitleText("Export to a folder")
	d.Resize(fyne.NewSize(800, 560))
	u.showDialog(d)
}

// export finishes every task at full resolution and writes it into dir, on a goroutine,
// one photo at a time (finishing uses all cores itself).
func (u *UI) export(tasks []exportTask, dir string) {
	if u.exporting {
		u.setStatus("An export is already running; wait for it to finish.")
		return
	}
	u.exporting = true
	u.lastDir = dir
	u.setStatus(fmt.Sprintf("Exporting %d photo(s) to %s…", len(tasks), quote.Name(dir)))
	u.act.add()
	go func() {
		var written []string
		var failed []string
		for i, t := range tasks {
			var path string
			err := safely(func() (err error) { path, err = u.exportOne(u.ctx, t, dir); return err })
			if err != nil {
				failed = append(failed, describe(err, t.j.name))
			} else {
				written = append(written, path)
				u.do(func() { t.j.saved, t.j.savedVersion = path, t.version })
			}
			n := i + 1
			u.do(func() { u.setStatus(fmt.Sprintf("Exporting to %s: %d of %d…", quote.Name(dir), n, len(tasks))) })
		}
		u.do(func() {
			defer u.act.done()
			u.exporting = false
			u.queue.update() // the saved markers
			switch {
			case len(failed) > 0:
				u.showError(fmt.Errorf("%d of %d photos were not exported. %s", len(failed), len(tasks), failed[0]))
			case len(written) == 1:
				u.notify(fmt.Sprintf("Saved %s.", written[0]))
			default:
				u.notify(fmt.Sprintf("Exported %d cut-outs to %s.", len(written), dir))
			}
		})
	}()
}

// exportOne finishes one photo at full resolution and saves it: the strokes, painted on the
// display copy, are drawn again at the photo's size.
func (u *UI) exportOne(ctx context.Context, t exportTask, dir string) (string, error) {
	c, err := u.fullCut(ctx, t.j)
	if err != nil {
		return "", err
	}
	b := c.Image.Bounds()
	var hints *matte.Hints
	if len(t.strokes) > 0 && t.scale > 0 {
		s := strokes{done: t.strokes}
		hints = s.hints(b.Dx(), b.Dy(), 1/t.scale)
	}
	// Saving a photo again replaces its own earlier export in that folder, as a rerun of
	// `cutout remove` replaces its own output; anything else keeps its name.
	name, replace := filepath.Base(t.j.path), false
	if t.prev != "" && filepath.Dir(t.prev) == filepath.Clean(dir) && filepath.Ext(t.prev) == t.format.Ext() {
		name, replace = filepath.Base(t.prev), true
	}
	return u.b.Export(c.Image, c.fullMask(), hints, t.opts, t.format, dir, name, replace)
}

// fullCut returns j's cut: from the cache, or cut out again.
func (u *UI) fullCut(ctx context.Context, j *job) (*Cutout, error) {
	u.jobs.mu.Lock()
	res := j.res
	u.jobs.mu.Unlock()
	if res != nil {
		return res.cut, nil
	}
	c, err := u.b.Cut(ctx, j.path, nil)
	if err != nil {
		return nil, err
	}
	if err := usable(c, j.name); err != nil {
		return nil, err
	}
	return c, nil
}
