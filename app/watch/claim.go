package watch

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"cutout/internal/beneath"
	"cutout/internal/quote"
)

// Output names are claimed before the work starts, and OUT is locked while a journal is
// open: the parts of the journal that keep two inputs (or two Cutouts) from one file.

// Claim reserves an output name for the input in before its work starts, so that the names
// of a batch are decided in its sorted order, not by which input finishes first. An input
// keeps the output its last done record names while that name is its own and in base's
// format (replace: a file is there to be replaced by the new version); otherwise it gets
// base, or base with " (1)",
// " (2)", … (shortened as beneath.Numbered does), the first name no other input owns or has
// claimed and for which taken reports no file. Claims last until the done record or Release.
func (j *Journal) Claim(in, base string, taken func(name string) bool) (name string, replace bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if prev := j.latest[in]; prev != "" && filepath.Ext(prev) == filepath.Ext(base) && j.outputs[prev] == in && (j.claims[prev] == "" || j.claims[prev] == in) {
		j.claims[prev] = in
		return prev, taken(prev)
	}
	for n := 0; ; n++ {
		name = numbered(base, n)
		if owner, ok := j.claims[name]; ok && owner != in {
			continue
		}
		if owner, ok := j.outputs[name]; ok && owner != in {
			continue
		}
		if _, own := j.outputs[name]; !own && taken(name) {
			continue
		}
		j.claims[name] = in
		return name, j.outputs[name] == in && taken(name)
	}
}

// Release gives up a claim whose work ended without a done record.
func (j *Journal) Release(name, in string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.claims[name] == in {
		delete(j.claims, name)
	}
}

// LatestOutput is the output (relative to OUT) of the input's last done record, "" if none.
func (j *Journal) LatestOutput(in string) string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.latest[in]
}

// lockOut creates (if needed) and locks OUT/LockName.
func lockOut(out string) (*os.File, error) {
	path := filepath.Join(out, LockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening the lock %s: %w", quote.Name(path), err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: %s (%s is locked)", ErrInUse, quote.Name(out), LockName)
	}
	return f, nil
}

// ensureLocked checks that the lock file in OUT is still the one this journal holds; when it
// was deleted (with OUT, say), it locks a new one, unless another Cutout got there first.
// Called with j.mu held.
func (j *Journal) ensureLocked() error {
	if j.lock == nil {
		return fmt.Errorf("%w: %s was taken over by another cutout while it was deleted", ErrInUse, quote.Name(j.out))
	}
	onDisk, err := os.Lstat(filepath.Join(j.out, LockName))
	held, herr := j.lock.Stat()
	if err == nil && herr == nil && os.SameFile(onDisk, held) {
		return nil
	}
	if err := os.MkdirAll(j.out, 0o755); err != nil {
		return fmt.Errorf("re-creating the output folder %s: %w", quote.Name(j.out), err)
	}
	lock, err := lockOut(j.out)
	j.lock.Close()
	j.lock = lock
	if err != nil {
		return err
	}
	return nil
}

// numbered is the output path base (relative to OUT) with clash number n (0: none).
func numbered(base string, n int) string {
	return filepath.Join(filepath.Dir(base), beneath.Numbered(filepath.Base(base), n))
}
