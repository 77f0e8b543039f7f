package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
)

// menu is the window's menu bar.
func (u *UI) menu() *fyne.MainMenu {
	item := func(label string, f func(), sc fyne.Shortcut) *fyne.MenuItem {
		it := fyne.NewMenuItem(label, f)
		it.Shortcut = sc
		return it
	}
	return fyne.NewMainMenu(
		fyne.NewMenu("File",
			item("Open…", u.onOpen, ctrl(fyne.KeyO)),
			item("Open Folder…", u.onOpenFolder, ctrlShift(fyne.KeyO)),
			fyne.NewMenuItemSeparator(),
			item("Save", u.onSave, ctrl(fyne.KeyS)),
			item("Export All…", u.onExportAll, ctrlShift(fyne.KeyS)),
			fyne.NewMenuItemSeparator(),
			item("Settings…", u.onSettings, ctrl(fyne.KeyComma)),
		),
		fyne.NewMenu("Edit",
			// Fyne's driver turns Ctrl+Z and Ctrl+Y into its own Undo and Redo shortcuts, so
			// those are what the strokes listen for (a custom Ctrl+Z would never fire).
			item("Undo Stroke", u.preview.onUndo, &fyne.ShortcutUndo{}),
			item("Redo Stroke", u.preview.onRedo, &fyne.ShortcutRedo{}),
			fyne.NewMenuItemSeparator(),
			item("Cancel All", u.jobs.cancelAll, nil),
			item("Cut Out All Again", u.onRedoAll, nil),
		),
		fyne.NewMenu("View",
			item("Fit to Window", u.preview.view.fitToWindow, ctrl(fyne.Key0)),
			item("Actual Size (100 %)", u.preview.onActualSize, ctrl(fyne.Key1)),
			fyne.NewMenuItemSeparator(),
			item("Photos", func() { u.tabs.SelectIndex(0) }, nil),
			item("Hot Folders", func() { u.tabs.Select(u.hotTab) }, nil),
		),
	)
}

func ctrl(k fyne.KeyName) fyne.Shortcut {
	return &desktop.CustomShortcut{KeyName: k, Modifier: fyne.KeyModifierShortcutDefault}
}

func ctrlShift(k fyne.KeyName) fyne.Shortcut {
	return &desktop.CustomShortcut{KeyName: k, Modifier: fyne.KeyModifierShortcutDefault | fyne.KeyModifierShift}
}

// shortcuts registers the menu's shortcuts on the canvas (Linux menus do not), and
// Ctrl+Shift+Z as a second Redo, as many editors have it.
func (u *UI) shortcuts() {
	for _, m := range u.win.MainMenu().Items {
		for _, it := range m.Items {
			if it.Shortcut != nil && it.Action != nil {
				act := it.Action
				u.win.Canvas().AddShortcut(it.Shortcut, func(fyne.Shortcut) { act() })
			}
		}
	}
	u.win.Canvas().AddShortcut(ctrlShift(fyne.KeyZ), func(fyne.Shortcut) { u.preview.onRedo() })
}

// showDialog shows d and keeps it as the top dialog until it closes, so that Escape
// closes it (as Cancel would: no dialog acts on Escape).
func (u *UI) showDialog(d dialog.Dialog) {
	u.dialogs = append(u.dialogs, d)
	d.SetOnClosed(func() {
		for i, o := range u.dialogs {
			if o == d {
				u.dialogs = append(u.dialogs[:i], u.dialogs[i+1:]...)
				break
			}
		}
	})
	d.Show()
}

// onKey handles the keys no widget took: Escape closes the top dialog; Up and Down show the
// previous and next photo, Page Up and Page Down move ten, Home and End go to the first and
// the last.
func (u *UI) onKey(ev *fyne.KeyEvent) {
	if len(u.dialogs) > 0 {
		if ev.Name == fyne.KeyEscape {
			u.dialogs[len(u.dialogs)-1].Dismiss()
		}
		return
	}
	rows := u.queue.rows
	if len(rows) == 0 {
		return
	}
	cur := u.queue.indexOf(u.selected)
	next := cur
	switch ev.Name {
	case fyne.KeyUp:
		next = cur - 1
	case fyne.KeyDown:
		next = cur + 1
	case fyne.KeyPageUp:
		next = cur - 10
	case fyne.KeyPageDown:
		next = cur + 10
	case fyne.KeyHome:
		next = 0
	case fyne.KeyEnd:
		next = len(rows) - 1
	default:
		return
	}
	if cur < 0 {
		next = 0
	}
	next = min(max(next, 0), len(rows)-1)
	if next != cur {
		u.queue.list.Select(next)
		u.queue.list.ScrollTo(next)
	}
}
