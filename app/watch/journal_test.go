package watch

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// recordCases feed both the round-trip test and the fuzz seed corpus.
var recordCases = []Record{
	{Op: OpIn, Time: time.Unix(0, 1700000000000000000), Path: "/srv/drop"},
	{Op: OpStart, Time: time.Unix(0, 1700000000000000001), Size: 3 << 20, ModTime: time.Unix(0, 1699999999000000000),
		Hash: strings.Repeat("ab", 32), Path: "photo.jpg"},
	{Op: OpDone, Time: time.Unix(0, 1700000000000000002), Size: 1, ModTime: time.Unix(1, 0), Hash: strings.Repeat("0", 64),
		Path: "sub dir/with \"quotes\" and spaces.png", Detail: "sub dir/with \"quotes\" and spaces (1).png"},
	{Op: OpFailed, Time: time.Unix(5, 0), Size: 0, Path: "new\nline\x00.jpg", Detail: "refused: it is\nnot an image"},
	{Op: OpMoved, Time: time.Unix(6, 0), Path: "ünïcödé/bad\xff\xfe.jpg", Detail: ".cutout-done/ünïcödé/bad\xff\xfe.jpg"},
	{Op: OpDone, Time: time.Unix(7, 0), Size: 9, Hash: strings.Repeat("c", 64), Path: "/home/u/a.jpg", Detail: "a.png", Settings: "0123456789abcdef"},
}

func TestRecordRoundTrip(t *testing.T) {
	for _, r := range recordCases {
		line := AppendRecord(nil, r)
		if bytes.Count(line, []byte("\n")) != 1 || line[len(line)-1] != '\n' {
			t.Fatalf("%q is not one line", line)
		}
		got, err := ParseRecord(line[:len(line)-1])
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if !sameRecord(got, r) {
			t.Fatalf("round trip of %q:\n got %+v\nwant %+v", line, got, r)
		}
	}
}

func sameRecord(a, b Record) bool {
	return a.Op == b.Op && nanos(a.Time) == nanos(b.Time) && a.Size == b.Size && nanos(a.ModTime) == nanos(b.ModTime) &&
		a.Hash == b.Hash && a.Path == b.Path && a.Detail == b.Detail && a.Settings == b.Settings
}

func TestParseRecordRefuses(t *testing.T) {
	for _, line := range []string{
		"", "done", "done 1 2 3 - \"a\"", "done 1 2 3 - \"a\" \"b\" extra", "frob 1 2 3 - \"a\" \"b\"",
		"done -1 2 3 - \"a\" \"b\"", "done 1 2 3 xyz \"a\" \"b\"", "done 1 2 3 - a b", "done 1 2 3 - \"\" \"b\"",
		"done 1 2 3 - `a` \"b\"", "done  1 2 3 - \"a\" \"b\"",
		"done 1 2 3 - \"a\" \"b\" ", "done 1 2 3 - \"a\" \"b\"  ab", "done 1 2 3 - \"a\" \"b\" AB",
	} {
		if _, err := ParseRecord([]byte(line)); err == nil {
			t.Errorf("%q parsed", line)
		}
	}
}

func writeJournal(t *testing.T, out string, recs []Record, tail string) {
	t.Helper()
	b := []byte(journalHeader)
	for _, r := range recs {
		b = AppendRecord(b, r)
	}
	b = append(b, tail...)
	if err := os.WriteFile(filepath.Join(out, JournalName), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestJournalTornLastLine: a crash mid-append leaves half a line; opening cuts it off, keeps
// everything before it, and later appends parse.
func TestJournalTornLastLine(t *testing.T) {
	out := t.TempDir()
	done := Record{Op: OpDone, Time: time.Unix(10, 0), Size: 5, ModTime: time.Unix(9, 0), Path: "a.jpg", Detail: "a.png"}
	writeJournal(t, out, []Record{done}, `done 11 6 10 - "b.jpg" "b.p`)
	j, err := OpenJournal(out, "/in", ".png")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := j.Unchanged("a.jpg", 5, time.Unix(9, 0)); !ok {
		t.Fatal("the complete record was lost")
	}
	if _, ok := j.Lookup("b.jpg"); ok {
		t.Fatal("the torn record was applied")
	}
	if err := j.Append(Record{Op: OpFailed, Time: time.Unix(12, 0), Path: "c.jpg", Detail: "no"}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	recs := records(t, out)
	if len(recs) != 3 || recs[0].Path != "a.jpg" || recs[1].Op != OpIn || recs[2].Path != "c.jpg" {
		t.Fatalf("records after repair: %+v", recs)
	}
}

func TestJournalDamagedLineSkipped(t *testing.T) {
	out := t.TempDir()
	writeJournal(t, out, nil, "garbage line\n"+string(AppendRecord(nil, Record{Op: OpDone, Path: "a.jpg", Detail: "a.png"})))
	j, err := OpenJournal(out, "/in", ".png")
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if j.Skipped != 1 || !j.IsOutput("a.png") {
		t.Fatalf("skipped %d, output known %v", j.Skipped, j.IsOutput("a.png"))
	}
}

// TestJournalCompaction: a journal of mostly superseded records is rewritten with the same
// state, and earlier outputs stay claimed.
func TestJournalCompaction(t *testing.T) {
	out := t.TempDir()
	var recs []Record
	for i := 0; i < 100; i++ {
		recs = append(recs, Record{Op: OpStart, Time: time.Unix(int64(2*i), 0), Size: int64(i), Path: "x.jpg"},
			Record{Op: OpDone, Time: time.Unix(int64(2*i+1), 0), Size: int64(i), Path: "x.jpg", Detail: outputName("x.jpg", ".png", i)})
	}
	recs = append(recs, Record{Op: OpFailed, Time: time.Unix(500, 0), Size: 7, Path: "y.jpg", Detail: "bad"},
		Record{Op: OpStart, Time: time.Unix(501, 0), Size: 8, Path: "y.jpg"})
	writeJournal(t, out, recs, "")
	j, err := OpenJournal(out, "/in", ".png")
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := j.Lookup("x.jpg"); e.Outcome.Size != 99 || e.Outcome.Detail != "x (99).png" {
		t.Fatalf("x: %+v", e)
	}
	if e, _ := j.Lookup("y.jpg"); e.Outcome.Op != OpFailed || e.Started == nil || e.Started.Size != 8 {
		t.Fatalf("y: %+v", e)
	}
	for i := 0; i < 100; i++ {
		if !j.IsOutput(outputName("x.jpg", ".png", i)) {
			t.Fatalf("output %d forgotten", i)
		}
	}
	j.Close()
	if n := len(records(t, out)); n > 110 {
		t.Fatalf("%d records after compaction", n)
	}
	// Reopening the compacted journal gives the same state.
	j, err = OpenJournal(out, "/in", ".png")
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if e, _ := j.Lookup("x.jpg"); e.Outcome.Detail != "x (99).png" || !j.IsOutput("x (3).png") {
		t.Fatalf("after reopening: %+v", e)
	}
}

// TestJournalAdoptsOutputOfKilledRun: a start with no outcome whose output was written is
// recorded as done on opening; outputs already claimed or older than the start are not.
func TestJournalAdoptsOutputOfKilledRun(t *testing.T) {
	out := t.TempDir()
	start := time.Now().Add(-time.Minute)
	writeFile(t, filepath.Join(out, "a.png"), "old result of another input")
	writeFile(t, filepath.Join(out, "a (1).png"), "written by the killed run")
	writeFile(t, filepath.Join(out, "stale.png"), "older than its start")
	old := start.Add(-time.Hour)
	os.Chtimes(filepath.Join(out, "stale.png"), old, old)
	writeJournal(t, out, []Record{
		{Op: OpDone, Time: start.Add(-time.Hour), Path: "a.png.jpg", Detail: "a.png"},
		{Op: OpStart, Time: start, Size: 3, Path: "a.jpg"},
		{Op: OpStart, Time: start, Size: 4, Path: "stale.jpg"},
		{Op: OpStart, Time: start, Size: 5, Path: "never.jpg"},
	}, "")
	j, err := OpenJournal(out, "/in", ".png")
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if len(j.Adopted) != 1 || j.Adopted[0].Path != "a.jpg" || j.Adopted[0].Detail != "a (1).png" {
		t.Fatalf("adopted %+v", j.Adopted)
	}
	if e, _ := j.Lookup("a.jpg"); e.Outcome.Op != OpDone || e.Started != nil || e.Outcome.Size != 3 {
		t.Fatalf("a.jpg: %+v", e)
	}
	for _, p := range []string{"stale.jpg", "never.jpg"} {
		if e, _ := j.Lookup(p); e.Outcome.Op != "" || e.Started == nil {
			t.Fatalf("%s: %+v", p, e)
		}
	}
}

func TestJournalLocked(t *testing.T) {
	out := t.TempDir()
	j, err := OpenJournal(out, "/in", ".png")
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if _, err := OpenJournal(out, "/other", ".png"); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second open: %v", err)
	}
}

// FuzzParseJournal: any bytes parse without panicking; every record parsed formats back to
// a line that parses to the same record; the good prefix ends at a newline.
func FuzzParseJournal(f *testing.F) {
	for _, r := range recordCases {
		f.Add(AppendRecord([]byte(journalHeader), r))
	}
	f.Add([]byte("done 1 2 3 - \"a\" \"b\"\ndone 1 2 3 - \"a"))
	f.Add([]byte("garbage\n\n# comment\nstart 0 0 0 - \"x\" \"\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		recs, good, bad := ParseJournal(data)
		if good > len(data) || (good > 0 && data[good-1] != '\n') || bad < 0 {
			t.Fatalf("good %d of %d", good, len(data))
		}
		for _, r := range recs {
			line := AppendRecord(nil, r)
			got, err := ParseRecord(line[:len(line)-1])
			if err != nil || !sameRecord(got, r) {
				t.Fatalf("%+v formats to %q which parses to %+v, %v", r, line, got, err)
			}
		}
	})
}
