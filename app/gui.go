package app

import (
	"fmt"
	"io"
	"os"
	"strings"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"

	"cutout/internal/quote"
	"cutout/ui"
)

// AppID is Cutout's application ID (as in FyneApp.toml): it names the preferences folder.
const AppID = "app.cutout.desktop"

// noDisplay says why no window can open here ("" when one may): neither an X display nor a
// Wayland one is named, or the local X display named has no server. (A remote X display is
// not probed: the toolkit reports that one itself.)
func noDisplay(getenv func(string) string, stat func(string) (os.FileInfo, error)) string {
	x, wl := getenv("DISPLAY"), getenv("WAYLAND_DISPLAY")
	if wl != "" {
		return ""
	}
	if x == "" {
		return "none is running here (neither DISPLAY nor WAYLAND_DISPLAY is set)"
	}
	host, num, ok := strings.Cut(x, ":")
	if !ok || (host != "" && host != "unix") {
		return ""
	}
	num, _, _ = strings.Cut(num, ".")
	if _, err := stat("/tmp/.X11-unix/X" + num); err != nil {
		return fmt.Sprintf("the display %s named by DISPLAY has no X server running", quote.Name(x))
	}
	return ""
}

// runGUI opens Cutout's window with the files and folders of open (as if dropped) and
// returns the exit code when it is closed; without a graphical session it says so and what
// works instead, and returns 2.
func runGUI(stderr io.Writer, open []string) int {
	if why := noDisplay(os.Getenv, os.Stat); why != "" {
		fmt.Fprintf(stderr, "cutout: the window needs a graphical session, and %s.\n"+
			"Without one, use the command line: \"cutout remove IN... -o OUT\" cuts out files and folders,\n"+
			"\"cutout watch IN OUT\" runs a hot folder; \"cutout help\" lists the commands.\n", why)
		return 2
	}
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
	u.Open(open)
	w.Resize(fyne.NewSize(1280, 800))
	w.SetMaster()
	w.ShowAndRun()
	return 0
}
