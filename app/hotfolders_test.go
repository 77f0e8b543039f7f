package app

import (
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cutout/engine/matte"
	"cutout/internal/quote"
	"cutout/ui"
)

// The window's hot folders on the real engine: a photo dropped into IN comes out in OUT,
// the counts and activity say so; a second hot folder into the same OUT is refused; switching
// off stops the watch; removing it deletes nothing.
func TestHotFoldersRealEngine(t *testing.T) {
	b := testBackend(t)
	hot := newHotFolders(b)
	t.Cleanup(hot.Close) // before the backend's Close (cleanups run last first)
	in, out := t.TempDir(), filepath.Join(t.TempDir(), "cut")
	f, err := hot.Add(ui.HotFolderConfig{In: in, Out: out, Refine: matte.RefineGuided, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hot.Add(ui.HotFolderConfig{In: t.TempDir(), Out: out + "/"}); err == nil ||
		!strings.HasPrefix(err.Error(), "the output folder "+quote.Name(out)+" already receives the cut-outs of the hot folder "+quote.Name(in)) {
		t.Errorf("a shared output folder: %v", err)
	}
	waitHot(t, hot, f.ID, "watching", func(s ui.HotFolderStats) bool { return s.State == ui.HotWatching })
	if err := os.WriteFile(filepath.Join(in, "coffee.png"), sample(t, "coffee.png"), 0o644); err != nil {
		t.Fatal(err)
	}
	select { // Changed fires as the watch works
	case <-hot.Changed():
	case <-time.After(30 * time.Second):
		t.Fatal("no Changed signal")
	}
	s := waitHot(t, hot, f.ID, "done=1", func(s ui.HotFolderStats) bool { return s.Done == 1 })
	if s.Seen != 1 || s.Failed != 0 || s.Waiting != 0 {
		t.Errorf("stats %+v", s)
	}
	if _, err := os.Stat(filepath.Join(out, "coffee.png")); err != nil {
		t.Fatalf("no cut-out: %v", err)
	}
	var done bool
	for _, a := range hot.Recent(f.ID) {
		done = done || a.Outcome == "done" && a.File == "coffee.png"
	}
	if !done {
		t.Errorf("the activity does not list coffee.png as done: %+v", hot.Recent(f.ID))
	}

	if err := hot.SetEnabled(f.ID, false); err != nil {
		t.Fatal(err)
	}
	if s := hot.Stats(f.ID); s.State != ui.HotStopped || hot.List()[0].Enabled {
		t.Errorf("after switching off: %+v, %+v", s, hot.List())
	}
	if err := hot.Remove(f.ID); err != nil {
		t.Fatal(err)
	}
	if len(hot.List()) != 0 {
		t.Errorf("still listed: %+v", hot.List())
	}
	for _, p := range []string{filepath.Join(in, "coffee.png"), filepath.Join(out, "coffee.png")} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("removing the hot folder deleted a file: %v", err)
		}
	}
}

// waitHot waits (generously: the engine may be starting) until cond holds for the hot folder.
func waitHot(t *testing.T, hot *hotFolders, id int, what string, cond func(ui.HotFolderStats) bool) ui.HotFolderStats {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		s := hot.Stats(id)
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: %+v\n%+v", what, s, hot.Recent(id))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A hot folder of the window with its own output options: JPEG on the shop's square frame.
func TestHotFolderOutputOptions(t *testing.T) {
	b := testBackend(t)
	hot := newHotFolders(b)
	t.Cleanup(hot.Close)
	in, out := t.TempDir(), t.TempDir()
	f, err := hot.Add(ui.HotFolderConfig{In: in, Out: out, Format: "jpeg", Frame: "square", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hot.Add(ui.HotFolderConfig{In: t.TempDir(), Out: t.TempDir(), Format: "gif"}); err == nil || !strings.Contains(err.Error(), "gif") {
		t.Errorf("an unknown format: %v", err)
	}
	waitHot(t, hot, f.ID, "watching", func(s ui.HotFolderStats) bool { return s.State == ui.HotWatching })
	if err := os.WriteFile(filepath.Join(in, "coffee.png"), sample(t, "coffee.png"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitHot(t, hot, f.ID, "done=1", func(s ui.HotFolderStats) bool { return s.Done == 1 })
	fh, err := os.Open(filepath.Join(out, "coffee.jpg"))
	if err != nil {
		t.Fatalf("no coffee.jpg: %v", err)
	}
	defer fh.Close()
	cfg, err := jpeg.DecodeConfig(fh)
	if err != nil || cfg.Width != 2000 || cfg.Height != 2000 {
		t.Errorf("coffee.jpg: %dx%d, %v; want a 2000 × 2000 JPEG", cfg.Width, cfg.Height, err)
	}
}
