package watch

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"cutout/internal/quote"
)

// JournalName is the journal's file name in the output folder.
const JournalName = ".cutout-journal"

// journalHeader opens every journal, for people who open the file.
const journalHeader = "# cutout hot-folder journal v1: op time size mtime sha256 \"input\" \"detail\"\n"

// Op is what a journal record says happened.
type Op string

// The journal's operations.
const (
	OpIn     Op = "in"     // the folder watched is Path (written when it differs from the last)
	OpStart  Op = "start"  // the input was handed to the Handler
	OpDone   Op = "done"   // its output, Detail (relative to OUT), is written
	OpFailed Op = "failed" // it failed; Detail is the reason
	OpMoved  Op = "moved"  // the original moved to Detail (relative to IN)
)

// Record is one line of the journal: an input (Path, relative to IN, with its size,
// modification time and SHA-256) and what happened to it.
type Record struct {
	Op      Op
	Time    time.Time // when it was written
	Size    int64
	ModTime time.Time
	Hash    string // lowercase hex SHA-256 of the content; "" when not hashed
	Path    string
	Detail  string
}

// sameStat reports whether the record describes a file of this size and modification time.
func (r Record) sameStat(size int64, mtime time.Time) bool {
	return r.Size == size && nanos(r.ModTime) == nanos(mtime)
}

// AppendRecord appends r's line (with its newline) to b.
func AppendRecord(b []byte, r Record) []byte {
	b = append(b, r.Op...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, nanos(r.Time), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, r.Size, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, nanos(r.ModTime), 10)
	b = append(b, ' ')
	if r.Hash == "" {
		b = append(b, '-')
	} else {
		b = append(b, r.Hash...)
	}
	b = append(b, ' ')
	b = strconv.AppendQuote(b, r.Path)
	b = append(b, ' ')
	b = strconv.AppendQuote(b, r.Detail)
	return append(b, '\n')
}

// nanos is t in Unix nanoseconds, 0 for the zero time (or one before 1970 or after 2262).
func nanos(t time.Time) int64 {
	if t.IsZero() || t.Before(time.Unix(0, 0)) || t.After(time.Unix(0, math.MaxInt64)) {
		return 0
	}
	return t.UnixNano()
}

// fromNanos undoes nanos.
func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// errRecord is returned for a line that is not a record.
var errRecord = errors.New("not a journal record")

// ParseRecord reads one line (without its newline).
func ParseRecord(line []byte) (Record, error) {
	var r Record
	s := string(line)
	fields := make([]string, 0, 5)
	for range 5 {
		i := strings.IndexByte(s, ' ')
		if i <= 0 {
			return r, errRecord
		}
		fields = append(fields, s[:i])
		s = s[i+1:]
	}
	switch op := Op(fields[0]); op {
	case OpIn, OpStart, OpDone, OpFailed, OpMoved:
		r.Op = op
	default:
		return r, fmt.Errorf("%w: unknown op %q", errRecord, fields[0])
	}
	var nums [3]int64
	for i := range nums {
		n, err := strconv.ParseInt(fields[1+i], 10, 64)
		if err != nil || n < 0 {
			return r, errRecord
		}
		nums[i] = n
	}
	r.Time, r.Size, r.ModTime = fromNanos(nums[0]), nums[1], fromNanos(nums[2])
	if h := fields[4]; h != "-" {
		if len(h) != 64 || strings.Trim(h, "0123456789abcdef") != "" {
			return r, fmt.Errorf("%w: bad hash", errRecord)
		}
		r.Hash = h
	}
	var err error
	if r.Path, s, err = unquotePrefix(s); err != nil || r.Path == "" || !strings.HasPrefix(s, " ") {
		return r, errRecord
	}
	if r.Detail, s, err = unquotePrefix(s[1:]); err != nil || s != "" {
		return r, errRecord
	}
	return r, nil
}

func unquotePrefix(s string) (string, string, error) {
	q, err := strconv.QuotedPrefix(s)
	if err != nil || q[0] != '"' {
		return "", "", errRecord
	}
	u, err := strconv.Unquote(q)
	return u, s[len(q):], err
}

// ParseJournal reads a journal's bytes: every well-formed record in order, how many bytes
// end with the last complete line (a torn last line, from a crash mid-write, is not
// counted), and how many complete lines were not records (comments are not counted).
func ParseJournal(data []byte) (recs []Record, good int, bad int) {
	for len(data[good:]) > 0 {
		rest := data[good:]
		nl := bytes.IndexByte(rest, '\n')
		if nl < 0 {
			break // torn last line
		}
		line := rest[:nl]
		good += nl + 1
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		r, err := ParseRecord(line)
		if err != nil {
			bad++
			continue
		}
		recs = append(recs, r)
	}
	return recs, good, bad
}

// Entry is what the journal knows about one input path.
type Entry struct {
	// Outcome is the last done or failed record (Op "" if none).
	Outcome Record
	// Started is a start record with no outcome after it: the job was interrupted.
	Started *Record
}

// Journal records, in OUT, every input taken and its outcome, so that a file is processed
// once across restarts and crashes. It is append-only: each record is one line, flushed to
// disk (fdatasync) before Append returns; a torn last line is cut off when it is opened. It
// is locked while open, so one output folder serves one running watch.
type Journal struct {
	mu      sync.Mutex
	f       *os.File
	path    string
	buf     []byte
	entries map[string]*Entry
	outputs map[string]string // output path (relative to OUT) → input path
	in      string
	lines   int

	// Skipped is how many damaged lines were skipped when the journal was opened.
	Skipped int
	// Adopted are done records written on opening for outputs that an interrupted run had
	// written without recording them.
	Adopted []Record
}

// OpenJournal opens (or creates) the journal of the output folder out, for the watch of the
// folder in whose Handler names outputs with ext. It cuts off a torn last line, compacts a
// journal whose records are mostly superseded, and adopts outputs written by a run that was
// killed before it could record them.
func OpenJournal(out, in, ext string) (*Journal, error) {
	path := filepath.Join(out, JournalName)
	// O_NOFOLLOW: a link planted in OUT under the journal's name must not make the journal
	// append to (or compaction replace) a file elsewhere.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening the journal %s: %w", quote.Name(path), err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("the output folder %s is in use by another running hot folder (%s is locked): %w", quote.Name(out), JournalName, err)
	}
	j := &Journal{f: f, path: path, entries: map[string]*Entry{}, outputs: map[string]string{}}
	if err := j.load(); err != nil {
		f.Close()
		return nil, err
	}
	if j.lines > 64 && j.lines > 2*len(j.entries)+16 {
		if err := j.compact(); err != nil {
			f.Close()
			return nil, err
		}
	}
	if j.in != in {
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
	return j.f.Sync()
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
		}
	}
}

// Append writes r, flushes it to disk and applies it.
func (j *Journal) Append(r Record) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return fmt.Errorf("journal %s: closed", quote.Name(j.path))
	}
	j.buf = AppendRecord(j.buf[:0], r)
	if _, err := j.f.Write(j.buf); err != nil {
		return fmt.Errorf("writing the journal %s: %w", quote.Name(j.path), err)
	}
	if err := syncData(j.f); err != nil {
		return fmt.Errorf("flushing the journal %s: %w", quote.Name(j.path), err)
	}
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
// output folder was removed, say); it reports whether it had to.
func (j *Journal) Ensure() (bool, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return false, nil
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
	if err := lockFile(f); err != nil {
		f.Close()
		return fmt.Errorf("locking the journal %s: %w", quote.Name(j.path), err)
	}
	j.f.Close()
	j.f = f
	// Replaying the compacted lines gives back the same state.
	j.entries, j.outputs, j.lines = map[string]*Entry{}, map[string]string{}, 0
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
			name := outputName(s.Path, ext, n)
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
