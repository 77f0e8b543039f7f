package watch

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"cutout/internal/quote"
)

// Folder names Cutout keeps in IN and OUT; both are hidden, so they are never inputs.
const (
	doneDir   = ".cutout-done"   // IN/.cutout-done: originals moved after their output is written
	failedDir = ".cutout-failed" // OUT/.cutout-failed/<name>.txt: why an input failed
)

// Originals says what happens to an input once its output is safely written.
type Originals int

// What happens to originals.
const (
	Keep Originals = iota // leave the original where it is
	Move                  // move it to IN/.cutout-done/<path inside IN>
)

// ParseOriginals reads "keep" or "move".
func ParseOriginals(s string) (Originals, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "keep", "":
		return Keep, nil
	case "move":
		return Move, nil
	}
	return Keep, fmt.Errorf("--originals %q: want keep or move", s)
}

// String is the flag's spelling.
func (o Originals) String() string {
	if o == Move {
		return "move"
	}
	return "keep"
}

// Job is one complete input handed to the Handler.
type Job struct {
	// Path is the input's absolute path (inside IN, with IN's own links resolved).
	Path string
	// Root is IN with its own links resolved: the input is to be opened as Rel beneath it,
	// with no link below it followed (a folder on the way may have been swapped for one).
	Root string
	// Rel is the path inside IN.
	Rel string
	// Size and Hash (hex SHA-256; "" if too large to hash) are the version that was taken.
	Size int64
	Hash string
	// Data is the content that was hashed, read once: the Handler processes exactly these
	// bytes, so the journal records the version the output came from. It is nil when the
	// file is larger than Config.MaxHash; the Handler then reads (and refuses) it itself.
	Data []byte
	// Output is where the result goes, relative to OUT, decided by the watch before the work
	// starts (see Config.OutputExt). With Replace, a file there is this input's own output of
	// an earlier version and is replaced atomically; without it no file is ever replaced,
	// and when Output is taken the Handler writes beside it with " (N)" before the extension
	// (shortened as beneath.Numbered does).
	Output  string
	Replace bool
}

// Handler cuts one input out. It writes its result atomically as OUT/Output (see Job) and
// returns the path it wrote. Its errors name the file and say why in words; wrap one with
// Retry when the file is not at fault (the engine cannot start, the disk is full), so the
// input is tried again later instead of failing. It is called from several goroutines at
// once and must return soon after ctx ends.
type Handler func(ctx context.Context, j Job) (output string, err error)

// ErrRetry marks a failure that is not the input's fault (see Retry).
var ErrRetry = errors.New("temporary failure")

type retryError struct{ err error }

func (e retryError) Error() string   { return e.err.Error() }
func (e retryError) Unwrap() []error { return []error{e.err, ErrRetry} }

// Retry marks err as not the input's fault: the input is tried again later (with backoff)
// rather than recorded as failed.
func Retry(err error) error {
	if err == nil {
		return nil
	}
	return retryError{err}
}

// Config describes one hot folder.
type Config struct {
	// In is the watched folder; Out receives the outputs, the journal and failure notes.
	In, Out string
	// Recursive also watches the folders inside In (hidden ones excepted).
	Recursive bool
	// Originals says what happens to an input once its output is written.
	Originals Originals
	// Handler cuts one input out (required).
	Handler Handler
	// Settle is how long a file's size and modification time must stay unchanged before it
	// is taken (default 1 s).
	Settle time.Duration
	// Rescan is how often the whole folder is walked again, for changes no notification
	// reported, such as on network folders (default 30 s; negative: never).
	Rescan time.Duration
	// Poll is how often In is checked for having been deleted, replaced or unmounted
	// (default 1 s).
	Poll time.Duration
	// Workers is how many inputs are handled at once (default 2: one is read and encoded
	// while another is in the model).
	Workers int
	// MaxPending bounds how many files are tracked between arrival and outcome; past it,
	// arrivals are left for a rescan, so a flood keeps memory flat (default 1000).
	MaxPending int
	// Extensions are the (lower-case, dotted) extensions of inputs; empty means any name.
	Extensions []string
	// OutputExt is the extension the Handler gives outputs (default ".png").
	OutputExt string
	// MaxHash is the largest file that is hashed; larger ones are handed over unhashed, for
	// the Handler to refuse (default 256 MiB).
	MaxHash int64
	// Grace is how long a file must have been unchanged for a failure of its own to be final
	// (default max(10 × Settle, 30 s); negative: no grace). A file written with pauses longer
	// than the settle time (a slow network copy) is taken before it is complete; while its
	// modification time is younger than Grace, its failure is taken for incompleteness: it is
	// tried again once it has been unchanged for Grace, and only if that same content fails
	// then is the failure recorded.
	Grace time.Duration
	// Once handles what In holds and returns instead of watching on: Run ends when the first
	// scan is drained (nothing settling, waiting or running). Files still changing are waited
	// for; a file whose failures are not its fault is tried onceAttempts times, then given up
	// for this run (Stats.Unfinished) without a failure note.
	Once bool
	// OnActivity, if set, receives every activity entry, from the watch's goroutines (one at
	// a time is not guaranteed); it must not block.
	OnActivity func(Activity)
}

// withDefaults checks c and fills in its defaults.
func (c Config) withDefaults() (Config, error) {
	if c.In == "" || c.Out == "" {
		return c, errors.New("a hot folder needs an input and an output folder")
	}
	if c.Handler == nil {
		return c, errors.New("a hot folder needs a handler")
	}
	var err error
	if c.In, err = filepath.Abs(c.In); err != nil {
		return c, fmt.Errorf("input folder %s: %w", quote.Name(c.In), err)
	}
	if c.Out, err = filepath.Abs(c.Out); err != nil {
		return c, fmt.Errorf("output folder %s: %w", quote.Name(c.Out), err)
	}
	if c.Settle <= 0 {
		c.Settle = time.Second
	}
	if c.Rescan == 0 {
		c.Rescan = 30 * time.Second
	}
	if c.Poll <= 0 {
		c.Poll = time.Second
	}
	if c.Workers <= 0 {
		c.Workers = 2
	}
	if c.MaxPending <= 0 {
		c.MaxPending = 1000
	}
	if c.OutputExt == "" {
		c.OutputExt = ".png"
	}
	if c.MaxHash <= 0 {
		c.MaxHash = 256 << 20
	}
	if c.Grace == 0 {
		c.Grace = max(10*c.Settle, 30*time.Second)
	}
	return c, nil
}

// accepts reports whether a file name may be an input.
func (c *Config) accepts(name string) bool {
	if Ignored(name) {
		return false
	}
	if len(c.Extensions) == 0 {
		return true
	}
	ext := strings.ToLower(filepath.Ext(name))
	for _, e := range c.Extensions {
		if e == ext {
			return true
		}
	}
	return false
}
