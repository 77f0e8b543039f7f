package app

import (
	"os"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"

	"cutout/ui"
)

// AppID is Cutout's application ID (as in FyneApp.toml): it names the preferences folder.
const AppID = "app.cutout.desktop"

// runGUI opens Cutout's window and returns the exit code when it is closed.
func runGUI() int {
	a := fyneapp.NewWithID(AppID)
	a.SetIcon(ui.Icon)
	w := a.NewWindow("Cutout")
	w.SetIcon(ui.Icon)
	b := newBackend(SupervisorConfig{Log: logTo(os.Stderr, os.Getenv("CUTOUT_DEBUG") != ""), Notice: os.Stderr})
	defer b.Close()
	hot := newHotFolders(b)
	defer hot.Close() // before the backend's Close: the hot folders use its engine
	u := ui.New(a, w, b, a.Preferences())
	defer u.Close()
	u.SetHotFolders(hot)
	w.Resize(fyne.NewSize(1280, 800))
	w.SetMaster()
	w.ShowAndRun()
	return 0
}
