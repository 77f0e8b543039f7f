package app

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"path/filepath"
	"strings"
	"sync"

	"cutout/engine/matte"
	"cutout/engine/models"
	"cutout/engine/validate"
	"cutout/internal/quote"
	"cutout/ui"
)

// backend is what the window uses of the app (ui.Backend): validation, the supervised
// engine process and the atomic sink, with errors turned into sentences that name the file
// and say what to do.
type backend struct {
	base SupervisorConfig // the engine's fixed settings (memory, timeout, log); Apply fills the rest

	mu    sync.Mutex
	eng   *liveEngine
	set   ui.EngineSettings
	lim   validate.Limits
	found map[string]Job // the files found in folders the user dropped or opened, by path
	sink  Sink
}

// liveEngine is an engine with a count of the cuts using it, so that a replaced engine is
// closed only after its last cut.
type liveEngine struct {
	*Supervisor
	users sync.WaitGroup
}

var _ ui.Backend = (*backend)(nil)

// acquire returns the current engine, held until release so that an engine replaced by new
// settings meanwhile is closed only after this use; nil when there is none.
func (b *backend) acquire() (eng *liveEngine, release func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.eng == nil {
		return nil, nil
	}
	eng = b.eng
	eng.users.Add(1)
	return eng, eng.users.Done
}

// limits are the validation limits chosen in Settings.
func (b *backend) limits() validate.Limits {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lim
}

// newBackend prepares a backend; the engine starts with the first cut (Apply sets it up).
func newBackend(base SupervisorConfig) *backend {
	b := &backend{base: base, lim: validate.DefaultLimits()}
	b.sink.Compression = png.BestSpeed
	return b
}

// Cut validates path and runs the engine on it.
func (b *backend) Cut(ctx context.Context, path string, validated func()) (*ui.Cutout, error) {
	b.mu.Lock()
	lim, job := b.lim, b.found[path]
	b.mu.Unlock()
	eng, release := b.acquire()
	if eng == nil {
		return nil, &sentence{msg: "Cutout's engine is not set up. Restart Cutout"}
	}
	defer release()
	var data []byte
	var err error
	if job.Root != "" {
		// Found in a folder: opened beneath it, never through a link below it.
		_, data, err = validate.FileIn(path, job.Root, job.In, lim)
	} else {
		_, data, err = validate.File(path, lim)
	}
	if err != nil {
		return nil, userError(path, err)
	}
	if validated != nil {
		validated()
	}
	r, err := eng.Predict(ctx, path, data)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, userError(path, err)
	}
	c := &ui.Cutout{Image: r.Image, Mask: r.Pred.Mask, MaskBytes: 4 * int64(len(r.Pred.Values))}
	if r.YCbCr != nil {
		c.Image = r.YCbCr // the window converts what it shows, and the rest on export
	}
	return c, nil
}

// Expand lists the image files of paths (folders recursively, a linked folder at its
// target) and remembers, for each file found in a folder, the folder to open it beneath.
func (b *backend) Expand(paths []string) ([]string, []error) {
	jobs, errs := CollectJobs(paths)
	files := make([]string, len(jobs))
	b.mu.Lock()
	if b.found == nil {
		b.found = map[string]Job{}
	}
	for i, j := range jobs {
		files[i] = j.Path
		if j.Root != "" {
			b.found[j.Path] = j
		} else {
			delete(b.found, j.Path) // named directly now: opened as named
		}
	}
	b.mu.Unlock()
	for i, err := range errs {
		errs[i] = &sentence{msg: err.Error() + ". Check its permissions, or drop the photos themselves", err: err}
	}
	return files, errs
}

// Extensions lists the accepted file extensions.
func (b *backend) Extensions() []string { return validate.Extensions() }

// Export finishes the photo with the finishing step `cutout remove` uses (finishedImage) and
// writes it into dir, atomically, replacing a file only when asked (the photo's own export).
func (b *backend) Export(img image.Image, mask *image.Gray, hints *matte.Hints, o matte.Options, f ui.ExportFormat, dir, name string, replace bool) (string, error) {
	out, err := outputFor(f.Format, f.Frame)
	if err != nil {
		return "", &sentence{msg: fmt.Sprintf("%s could not be exported: %s", quote.Name(filepath.Base(name)), err), err: err}
	}
	encode, err := finishedImage(&b.sink, img, mask, hints, o, out, false) // the window keeps both
	if err != nil {
		return "", fmt.Errorf("%s could not be finished (%v); try other edge settings", quote.Name(filepath.Base(name)), err)
	}
	path, _, _, err := b.sink.WriteImage(dir, filepath.Base(name), out.Ext(), replace, encode)
	var ee *EncodeError
	if errors.As(err, &ee) {
		return "", fmt.Errorf("%s could not be encoded as %s (%v); try again", quote.Name(name), strings.ToUpper(out.Format), ee.Err)
	}
	if err != nil {
		return "", fmt.Errorf("the cut-out of %s could not be written into %s (%s); choose another folder or check that you may write there",
			quote.Name(filepath.Base(name)), quote.Name(dir), quote.Text(systemReason(err)))
	}
	return path, nil
}

// Models lists the installed models, by name.
func (b *backend) Models() []string {
	man, err := b.manifest()
	if err != nil {
		return nil
	}
	var names []string
	for _, m := range man.Installed() {
		names = append(names, m.Name)
	}
	return names
}

// Defaults are the command line's defaults.
func (b *backend) Defaults() ui.EngineSettings {
	d := validate.DefaultLimits()
	s := ui.EngineSettings{MaxMB: int(d.MaxBytes >> 20), MaxSide: d.MaxWidth, MaxMegapixels: float64(d.MaxPixels) / 1e6}
	if man, err := b.manifest(); err == nil {
		s.Model = man.Default
	}
	return s
}

// Apply makes later cuts use s: a new engine (started at once, in the background) when the
// model or threads changed; the old one is closed after the cuts it is running.
func (b *backend) Apply(s ui.EngineSettings) error {
	lim := validate.Limits{MaxBytes: int64(s.MaxMB) << 20, MaxWidth: s.MaxSide, MaxHeight: s.MaxSide,
		MaxPixels: int64(s.MaxMegapixels * 1e6)}
	if s.MaxMB < 1 || s.MaxSide < 1 || s.MaxMegapixels <= 0 || s.Threads < 0 {
		return fmt.Errorf("the limits in Settings must be above zero; fix them and save again")
	}
	if s.Model != "" {
		if man, err := b.manifest(); err == nil {
			if _, err := man.Lookup(s.Model); err != nil {
				return fmt.Errorf("the model %s chosen in Settings is not installed; choose another one", quote.Name(s.Model))
			}
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	same := b.eng != nil && s.Model == b.set.Model && s.Threads == b.set.Threads && lim == b.lim
	b.set, b.lim = s, lim
	if same {
		return nil
	}
	c := b.base
	c.Model, c.Threads, c.Limits = s.Model, s.Threads, lim
	c.Warm = true // the window starts its engine before the first photo is dropped
	sup, err := NewSupervisor(c)
	if err != nil {
		return &sentence{msg: fmt.Sprintf("Cutout's engine could not be set up: %s. Check that the models are installed (make models)", quote.Text(err.Error())), err: err}
	}
	if old := b.eng; old != nil {
		go func() { old.users.Wait(); old.Close() }()
	}
	b.eng = &liveEngine{Supervisor: sup}
	// Load the model now, in the background, so the first photo dropped does not wait for
	// it (a cut that comes meanwhile waits for this start; a failed start is retried by it).
	go func() { _ = sup.Start(context.Background()) }()
	return nil
}

// Close stops the engine.
func (b *backend) Close() error {
	b.mu.Lock()
	eng := b.eng
	b.eng = nil
	b.mu.Unlock()
	if eng != nil {
		eng.users.Wait()
		return eng.Close()
	}
	return nil
}

func (b *backend) manifest() (*models.Manifest, error) {
	dir := b.base.ModelsDir
	if dir == "" {
		var err error
		if dir, err = FindModelsDir(); err != nil {
			return nil, err
		}
	}
	return models.Load(dir)
}

// userError turns a refusal or an engine failure into a sentence that names the file
// (quoted) and says what to do; it still unwraps to err. What the message repeats of the
// engine's words is escaped: they came from a process that reads hostile files.
func userError(path string, err error) error {
	name := quote.Name(filepath.Base(path))
	var refused *validate.Error
	if errors.As(err, &refused) {
		return &sentence{msg: quote.Text(err.Error()) + ". " + refusalAdvice(err), err: err}
	}
	msg := quote.Text(err.Error())
	msg = strings.TrimPrefix(msg, name+": ")
	msg = strings.TrimPrefix(msg, filepath.Base(path)+": ")
	advice := "Check that the file opens in an image viewer, or save it again as PNG or JPEG."
	switch {
	case errors.Is(err, ErrEngineStart):
		return &sentence{msg: fmt.Sprintf("Cutout's engine could not start to cut out %s (%s). Check that the models are installed (make models) and the model chosen in Settings, then try again.", name, msg), err: err}
	case errors.Is(err, ErrEngineTimeout):
		advice = "Try a smaller image, or try again when the computer is less busy."
	case errors.Is(err, ErrEngineOOM):
		advice = "Try a smaller image, or lower the megapixel limit in Settings so such images are refused up front."
	case errors.Is(err, ErrEngineCrash):
		advice = "Try again; if it happens again, the file may be damaged: save it again from its source."
	}
	return &sentence{msg: fmt.Sprintf("%s could not be cut out: %s. %s", name, msg, advice), err: err}
}

// refusalAdvice says what to do about a refused file.
func refusalAdvice(err error) string {
	switch {
	case errors.Is(err, validate.ErrDimensions):
		return "Make the image smaller, or raise the limit in Settings"
	case errors.Is(err, validate.ErrTooLarge):
		return "Use a smaller file, or raise the size limit in Settings"
	case errors.Is(err, validate.ErrUnsupportedFormat):
		return "Convert it to PNG or JPEG first"
	case errors.Is(err, validate.ErrExtensionMismatch):
		return "Rename it with the extension of its real format"
	case errors.Is(err, validate.ErrTooComplex):
		return "Save it again as an ordinary (baseline) JPEG or as PNG"
	case errors.Is(err, validate.ErrCorrupt), errors.Is(err, validate.ErrEmpty):
		return "Save it again from its source"
	case errors.Is(err, validate.ErrNotFound):
		return "It may have been moved or deleted; add it again"
	case errors.Is(err, validate.ErrPermission):
		return "Check that you may read it"
	case errors.Is(err, validate.ErrSymlinkEscape):
		return "Drop the file itself, or the folder it is in"
	case errors.Is(err, validate.ErrNotRegularFile):
		return "Drop a regular photo file instead (not a folder, device or pipe)"
	}
	return "Drop a regular photo file instead"
}

// sentence is an error whose message is a complete sentence for people.
type sentence struct {
	msg string
	err error
}

func (s *sentence) Error() string { return s.msg }
func (s *sentence) Unwrap() error { return s.err }
