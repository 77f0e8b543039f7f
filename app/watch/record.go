package watch

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

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
	// Settings fingerprints what shaped the output (model, options, format); "" when not
	// recorded. A rerun of `cutout remove` with other settings redoes the input.
	Settings string
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
	if r.Settings != "" {
		b = append(b, ' ')
		b = append(b, r.Settings...)
	}
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
	if r.Detail, s, err = unquotePrefix(s[1:]); err != nil {
		return r, errRecord
	}
	if s != "" {
		set, ok := strings.CutPrefix(s, " ")
		if !ok || len(set) == 0 || len(set) > 64 || strings.Trim(set, "0123456789abcdef") != "" {
			return r, errRecord
		}
		r.Settings = set
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
