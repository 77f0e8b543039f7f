package ui

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"cutout/engine/matte"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"
)

// fakeBackend stands in for the app: it makes a synthetic photo (a gradient with a disc)
// and its mask for every path, fails the paths in fail, and can hold cuts until released.
type fakeBackend struct {
	mu      sync.Mutex
	size    image.Point      // size of the images it makes (default 320 × 240)
	fail    map[string]error // base name → error
	hold    chan struct{}    // when set, Cut waits for it (or ctx)
	badMask bool             // when set, the cut-out's masks come at the wrong size
	applied []EngineSettings
	cuts    int
	active  int // Cuts running now
	peak    int // most Cuts running at once
}

func (f *fakeBackend) Cut(ctx context.Context, path string, validated func()) (*Cutout, error) {
	f.mu.Lock()
	f.cuts++
	f.active++
	f.peak = max(f.peak, f.active)
	err, hold, size, bad := f.fail[filepath.Base(path)], f.hold, f.size, f.badMask
	f.mu.Unlock()
	defer func() { f.mu.Lock(); f.active--; f.mu.Unlock() }()
	if err != nil {
		return nil, err
	}
	if validated != nil {
		validated()
	}
	if size == (image.Point{}) {
		size = image.Pt(320, 240)
	}
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	img, mask := synthetic(size.X, size.Y)
	return &Cutout{Image: img, MaskBytes: int64(len(mask.Pix)), Mask: func(w, h int) *image.Gray {
		if bad {
			w++
		}
		if mask.Rect.Dx() == w && mask.Rect.Dy() == h {
			return mask
		}
		return resizeGray(mask, w, h)
	}}, nil
}

func (f *fakeBackend) Expand(paths []string) ([]string, []error) {
	var out []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil || !fi.IsDir() {
			out = append(out, p)
			continue
		}
		entries, _ := os.ReadDir(p)
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".png") || strings.HasSuffix(e.Name(), ".jpg") {
				out = append(out, filepath.Join(p, e.Name()))
			}
		}
	}
	return out, nil
}

func (f *fakeBackend) Extensions() []string { return []string{".jpg", ".png"} }

// Export finishes as the real backend does (matte.Finish) and writes a PNG beside no other.
func (f *fakeBackend) Export(img image.Image, mask *image.Gray, hints *matte.Hints, o matte.Options, ef ExportFormat, dir, name string, replace bool) (string, error) {
	out, err := matte.Finish(nrgbaOf(img), mask, hints, o)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, strings.TrimSuffix(name, filepath.Ext(name))+ef.Ext())
	flags := os.O_CREATE | os.O_EXCL | os.O_WRONLY
	if replace {
		flags = os.O_CREATE | os.O_TRUNC | os.O_WRONLY
	}
	fh, err := os.OpenFile(path, flags, 0o644)
	if err != nil {
		return "", err
	}
	defer fh.Close()
	return path, png.Encode(fh, out)
}

func (f *fakeBackend) Models() []string { return []string{"isnet-general-q8", "isnet-general"} }

func (f *fakeBackend) Defaults() EngineSettings {
	return EngineSettings{Model: "isnet-general-q8", MaxMB: 64, MaxSide: 16384, MaxMegapixels: 100}
}

func (f *fakeBackend) Apply(s EngineSettings) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applied = append(f.applied, s)
	return nil
}

// synthetic is a w × h photo (a colour gradient, a brighter disc in the middle) and a mask
// that is the disc with a soft, slightly wrong edge, as a model's would be.
func synthetic(w, h int) (*image.NRGBA, *image.Gray) {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	mask := image.NewGray(img.Rect)
	cx, cy, r := float64(w)/2, float64(h)/2, float64(min(w, h))/3
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			dx, dy := float64(x)-cx, float64(y)-cy
			d := dx*dx + dy*dy
			c := color.NRGBA{R: uint8(40 + 100*x/w), G: uint8(60 + 80*y/h), B: 90, A: 255}
			if d < r*r {
				c = color.NRGBA{R: 230, G: 200, B: uint8(150 + 50*x/w), A: 255}
			}
			img.SetNRGBA(x, y, c)
			m := 255 - (d-(r*0.92)*(r*0.92))/(r*r*0.16)*255
			mask.Pix[y*mask.Stride+x] = uint8(min(255, max(0, m)))
		}
	}
	return img, mask
}

// harness is a UI in a test window with a fake backend.
type harness struct {
	t   *testing.T
	app fyne.App
	win fyne.Window
	b   *fakeBackend
	u   *UI
}

// newHarness builds the window (1200 × 800) on a fresh test app; prefs may be shared
// between harnesses to stand for the preferences file.
func newHarness(t *testing.T, b *fakeBackend, prefs fyne.Preferences) *harness {
	t.Helper()
	a := test.NewTempApp(t)
	if prefs == nil {
		prefs = a.Preferences()
	}
	w := test.NewWindow(nil)
	u := New(a, w, b, prefs)
	w.Resize(fyne.NewSize(1200, 800))
	h := &harness{t: t, app: a, win: w, b: b, u: u}
	t.Cleanup(func() {
		u.Close()
		h.wait()
		w.Close()
	})
	return h
}

// ui runs f as the UI goroutine would: callbacks from goroutines wait until it returns (in
// the real app they queue for the main loop; the test driver runs them at once).
func (h *harness) ui(f func()) {
	h.u.doMu.Lock()
	defer h.u.doMu.Unlock()
	f()
}

// wait returns when no job, flush, render or export is in flight.
func (h *harness) wait() {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		h.u.act.mu.Lock()
		n := h.u.act.n
		h.u.act.mu.Unlock()
		if n == 0 {
			// Taking the lock pairs with the callbacks' writes (a happens-before edge).
			h.u.doMu.Lock()
			//lint:ignore SA2001 the critical section is empty on purpose (see above)
			h.u.doMu.Unlock()
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("the UI did not settle (%d tasks in flight)", n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// drop drops files onto the window, as the window's drop handler would, and waits.
func (h *harness) drop(paths ...string) {
	h.t.Helper()
	uris := make([]fyne.URI, len(paths))
	for i, p := range paths {
		uris[i] = storageURI(p)
	}
	h.ui(func() { h.u.onDropped(fyne.NewPos(10, 10), uris) })
	h.wait()
}

// photos writes n empty stand-in files (the fake backend never reads them) into dir.
func photos(t *testing.T, dir string, names ...string) []string {
	t.Helper()
	var out []string
	for _, n := range names {
		p := filepath.Join(dir, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// errRefused is what the real backend says about an absurd PNG header.
var errRefused = errors.New("refused: \"huge.png\" claims 100000 × 100000 pixels, the limit is 16384 × 16384. " +
	"Make the image smaller, or raise the limit in Settings")

// rowTexts returns the name and state text of every row, as the list shows them.
func (h *harness) rowTexts() []string {
	h.t.Helper()
	var out []string
	for i, j := range h.u.queue.rows {
		st, reason, _ := h.u.jobs.view(j)
		text := st.String()
		if st == stateFailed {
			text = reason
		}
		out = append(out, fmt.Sprintf("%d %s: %s", i, j.name, text))
	}
	return out
}

func storageURI(p string) fyne.URI { return storage.NewFileURI(p) }
