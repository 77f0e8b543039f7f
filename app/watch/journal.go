package watch

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"cutout/internal/quote"
)

// JournalName is the journal's file name in the output folder.
const JournalName = ".cutout-journal"

// LockName is the file in the output folder whose lock says a Cutout journal is open there.
// The lock is held on this file, never on the journal, because the journal is replaced when
// it is compacted or written again after a deletion: a lock on it would be lost with it.
const LockName = ".cutout-lock"

// journalHeader opens every journal, for people who open the file.
const journalHeader = "# cutout journal v1: op time size mtime sha256 \"input\" \"detail\" [settings]\n"

// ErrInUse means another running Cutout (a watch or a remove) holds the output folder.
var ErrInUse = errors.New("the output folder is in use by another running cutout")

// Entry is what the journal knows about one input path.
type Entry struct {
	// Outcome is the last done or failed record (Op "" if none).
	Outcome Record
	// Started is a start record with no outcome after it: the job was interrupted.
	Started *Record
}

// Journal records, in OUT, every input taken and its outcome, so that a file is processed
// once across restarts and crashes; `cutout watch` and `cutout remove` keep the same one. It
// is append-only: each record is one write of one line, flushed to disk (fdatasync) before
// Append returns; a write that fails is cut back, so a record is whole or absent, and a torn
// last line (a crash mid-write) is cut off when it is opened. OUT/LockName is locked while
// it is open, so one output folder serves one running Cutout.
type Journal struct {
	mu      sync.Mutex
	f       *os.File
	lock    *os.File // OUT/LockName, locked while the journal is open
	out     string
	path    string
	size    int64 // bytes of whole records in f: a failed append is cut back to it
	buf     []byte
	entries map[string]*Entry
	outputs map[string]string // output path (relative to OUT) → input path
	latest  map[string]string // input path → its newest output (relative to OUT)
	claims  map[string]string // output path → input path, claimed for work not yet recorded
	in      string
	lines   int

	// Skipped is how many damaged lines were skipped when the journal was opened.
	Skipped int
	// Adopted are done records written on opening for outputs that an interrupted run had
	// written without recording them.
	Adopted []Record
}

// OpenJournal opens (or creates) the journal of the output folder out, for the watch of the
// folder in ("" for `cutout remove`, whose inputs are absolute paths) whose outputs are named
// with ext. It locks OUT (ErrInUse when another Cutout holds it), cuts off a torn last line,
// compacts a journal whose records are mostly superseded, and adopts outputs written by a
// run that was killed before it could record them.
func OpenJournal(out, in, ext string) (*Journal, error) {
	lock, err := lockOut(out)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(out, JournalName)
	// O_NOFOLLOW: a link planted in OUT under the journal's name must not make the journal
	// append to (or compaction replace) a file elsewhere.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("opening the journal %s: %w", quote.Name(path), err)
	}
	j := &Journal{f: f, lock: lock, out: out, path: path}
	j.reset()
	if err := j.load(); err != nil {
		j.Close()
		return nil, err
	}
	if j.lines > 64 && j.lines > 2*len(j.entries)+16 {
		if err := j.compact(); err != nil {
			j.Close()
			return nil, err
		}
	}
	if in != "" && j.in != in {
		if err := j.Append(Record{Op: OpIn, Time: time.Now(), Path: in}); err != nil {
			j.Close()
			return nil, err
		}
	}
	if err := j.adopt(out, ext); err != nil {
		j.Close()
		return nil, err
	}
	return j, nil
}

// load replays the file and truncates a torn last line.
func (j *Journal) load() error {
	data, err := io.ReadAll(j.f)
	if err != nil {
		return fmt.Errorf("reading the journal %s: %w", quote.Name(j.path), err)
	}
	recs, good, bad := ParseJournal(data)
	j.Skipped = bad
	for _, r := range recs {
		j.apply(r)
	}
	j.lines = len(recs)
	if good == 0 {
		if err := j.f.Truncate(0); err != nil {
			return fmt.Errorf("resetting the journal %s: %w", quote.Name(j.path), err)
		}
		if _, err := j.f.Write([]byte(journalHeader)); err != nil {
			return fmt.Errorf("writing the journal %s: %w", quote.Name(j.path), err)
		}
		good = len(journalHeader)
	} else if good < len(data) {
		if err := j.f.Truncate(int64(good)); err != nil {
			return fmt.Errorf("repairing the journal %s: %w", quote.Name(j.path), err)
		}
	}
	j.size = int64(good)
	return j.f.Sync()
}

// reset empties the in-memory state (claims survive: they are work in progress).
func (j *Journal) reset() {
	j.entries, j.outputs, j.latest, j.lines = map[string]*Entry{}, map[string]string{}, map[string]string{}, 0
	if j.claims == nil {
		j.claims = map[string]string{}
	}
}

// apply updates the in-memory state with one record.
func (j *Journal) apply(r Record) {
	if r.Op == OpIn {
		j.in = r.Path
		return
	}
	e := j.entries[r.Path]
	if e == nil {
		e = &Entry{}
		j.entries[r.Path] = e
	}
	switch r.Op {
	case OpStart:
		rc := r
		e.Started = &rc
	case OpDone, OpFailed:
		// Earlier outputs stay in outputs: they are still results, never inputs.
		e.Outcome, e.Started = r, nil
		if r.Op == OpDone {
			j.outputs[r.Detail] = r.Path
			j.latest[r.Path] = r.Detail
			if j.claims[r.Detail] == r.Path {
				delete(j.claims, r.Detail)
			}
		}
	}
}

// Append writes r in one write, flushes it to disk and applies it. A write or flush that
// fails (a full disk) is cut back to the last whole record, so the next record never joins
// half a line; the error wraps the system's (syscall.ENOSPC, say).
func (j *Journal) Append(r Record) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return fmt.Errorf("journal %s: closed", quote.Name(j.path))
	}
	if err := j.ensureLocked(); err != nil {
		return err
	}
	j.buf = AppendRecord(j.buf[:0], r)
	n, err := j.f.Write(j.buf)
	if err == nil {
		err = syncData(j.f)
	}
	if err != nil {
		if n > 0 {
			// O_APPEND writes at the end whatever the offset: cutting the file back is
			// enough for the next record to start on a fresh line.
			if terr := j.f.Truncate(j.size); terr != nil {
				return fmt.Errorf("writing the journal %s: %w (and cutting back the half-written record failed: %v)", quote.Name(j.path), err, terr)
			}
		}
		return fmt.Errorf("writing the journal %s: %w", quote.Name(j.path), err)
	}
	j.size += int64(n)
	j.apply(r)
	j.lines++
	return nil
}

// Lookup returns what the journal knows about the input path rel.
func (j *Journal) Lookup(rel string) (Entry, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	e, ok := j.entries[rel]
	if !ok {
		return Entry{}, false
	}
	return *e, true
}

// Unchanged reports whether rel, with this size and modification time, already has an
// outcome recorded for exactly that version; it returns the outcome.
func (j *Journal) Unchanged(rel string, size int64, mtime time.Time) (Record, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	e, ok := j.entries[rel]
	if !ok || e.Outcome.Op == "" || !e.Outcome.sameStat(size, mtime) {
		return Record{}, false
	}
	return e.Outcome, true
}

// IsOutput reports whether rel (relative to OUT) is an output the journal records.
func (j *Journal) IsOutput(rel string) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	_, ok := j.outputs[rel]
	return ok
}

// Len is how many input paths the journal knows.
func (j *Journal) Len() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.entries)
}

// Ensure writes the journal again from memory when its file was deleted or replaced (the
// output folder was removed, say); it reports whether it had to. When the lock file went with
// it and another Cutout has taken the output folder meanwhile, it fails with ErrInUse and
// every later Append fails too: two processes never write one folder.
func (j *Journal) Ensure() (bool, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return false, nil
	}
	if err := j.ensureLocked(); err != nil {
		return false, err
	}
	onDisk, err := os.Stat(j.path)
	open, oerr := j.f.Stat()
	if err == nil && oerr == nil && os.SameFile(onDisk, open) {
		return false, nil
	}
	if err := os.MkdirAll(filepath.Dir(j.path), 0o755); err != nil {
		return true, fmt.Errorf("re-creating the journal %s: %w", quote.Name(j.path), err)
	}
	return true, j.compact()
}

// Close releases the journal and its lock.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.lock != nil {
		j.lock.Close()
		j.lock = nil
	}
	if j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	return err
}

// compact rewrites the journal with one outcome (and interrupted start) per input: a new
// file is written beside it, flushed and renamed over it, so a crash leaves one or the other.
func (j *Journal) compact() error {
	var b []byte
	b = append(b, journalHeader...)
	if j.in != "" {
		b = AppendRecord(b, Record{Op: OpIn, Time: time.Now(), Path: j.in})
	}
	keys := make([]string, 0, len(j.entries))
	for k := range j.entries {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	// Outputs of earlier versions of an input stay claimed: they come first, as done
	// records that the input's current outcome then supersedes.
	older := map[string][]string{}
	for out, in := range j.outputs {
		if e := j.entries[in]; e == nil || e.Outcome.Op != OpDone || e.Outcome.Detail != out {
			older[in] = append(older[in], out)
		}
	}
	lines := 0
	for _, k := range keys {
		slices.Sort(older[k])
		for _, out := range older[k] {
			b = AppendRecord(b, Record{Op: OpDone, Time: time.Now(), Path: k, Detail: out})
			lines++
		}
		e := j.entries[k]
		if e.Outcome.Op != "" {
			b = AppendRecord(b, e.Outcome)
			lines++
		}
		if e.Started != nil {
			b = AppendRecord(b, *e.Started)
			lines++
		}
	}
	if err := writeReplacing(filepath.Dir(j.path), filepath.Base(j.path), b); err != nil {
		return fmt.Errorf("compacting the journal %s: %w", quote.Name(j.path), err)
	}
	f, err := os.OpenFile(j.path, os.O_RDWR|os.O_APPEND|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return fmt.Errorf("reopening the journal %s: %w", quote.Name(j.path), err)
	}
	j.f.Close()
	j.f = f
	j.size = int64(len(b))
	// Replaying the compacted lines gives back the same state.
	j.reset()
	recs, _, _ := ParseJournal(b)
	for _, r := range recs {
		j.apply(r)
	}
	j.lines = lines
	return nil
}

// adopt records outputs that a killed run wrote after its start record but before its done
// record: an output named as the Handler names them, claimed by no done record, and written
// after the start. Interrupted starts of the same name are matched to such outputs in order.
func (j *Journal) adopt(out, ext string) error {
	var starts []Record
	for _, e := range j.entries {
		if e.Started != nil {
			starts = append(starts, *e.Started)
		}
	}
	slices.SortFunc(starts, func(a, b Record) int { return a.Time.Compare(b.Time) })
	taken := map[string]bool{}
	for _, s := range starts {
		for n := 0; n < 10000; n++ {
			// A start that names its output (decided before the work) has only that one.
			name := s.Detail
			if name == "" {
				name = outputName(s.Path, ext, n)
			} else if n > 0 {
				break
			}
			fi, err := os.Lstat(filepath.Join(out, name))
			if err != nil {
				break
			}
			if taken[name] || j.IsOutput(name) || !fi.Mode().IsRegular() || fi.ModTime().Before(s.Time.Add(-2*time.Second)) {
				continue
			}
			taken[name] = true
			r := Record{Op: OpDone, Time: time.Now(), Size: s.Size, ModTime: s.ModTime, Hash: s.Hash, Path: s.Path, Detail: name}
			if err := j.Append(r); err != nil {
				return err
			}
			j.Adopted = append(j.Adopted, r)
			break
		}
	}
	return nil
}
