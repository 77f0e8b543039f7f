package watch

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// BenchmarkJournalAppend: one record written and flushed to disk (twice per input).
func BenchmarkJournalAppend(b *testing.B) {
	j, err := OpenJournal(b.TempDir(), "/in", ".png")
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	r := Record{Op: OpDone, Time: time.Now(), Size: 3 << 20, ModTime: time.Now(), Hash: strings.Repeat("ab", 32),
		Path: "2024/holiday/IMG_0001.JPG", Detail: "2024/holiday/IMG_0001.png"}
	b.ReportAllocs()
	for b.Loop() {
		if err := j.Append(r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseJournal: replaying a journal of 10,000 inputs on start.
func BenchmarkParseJournal(b *testing.B) {
	var data []byte
	for i := 0; i < 10000; i++ {
		p := fmt.Sprintf("2024/holiday/IMG_%04d.JPG", i)
		data = AppendRecord(data, Record{Op: OpStart, Time: time.Now(), Size: 3 << 20, ModTime: time.Now(), Hash: strings.Repeat("ab", 32), Path: p})
		data = AppendRecord(data, Record{Op: OpDone, Time: time.Now(), Size: 3 << 20, ModTime: time.Now(), Hash: strings.Repeat("ab", 32), Path: p, Detail: p + ".png"})
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if recs, _, bad := ParseJournal(data); len(recs) != 20000 || bad != 0 {
			b.Fatal(len(recs), bad)
		}
	}
}

// BenchmarkHashFile: reading a 3 MB photo whole to hash it; the bytes are handed over.
func BenchmarkHashFile(b *testing.B) {
	dir := b.TempDir()
	p := filepath.Join(dir, "x.jpg")
	os.WriteFile(p, make([]byte, 3<<20), 0o644)
	fi, _ := os.Lstat(p)
	b.SetBytes(fi.Size())
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := hashFile(dir, "x.jpg", fi); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScan: the catch-up walk of a folder of 2,000 files that are all done already.
func BenchmarkScan(b *testing.B) {
	in, out := b.TempDir(), b.TempDir()
	j, err := OpenJournal(out, in, ".png")
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 2000; i++ {
		os.WriteFile(filepath.Join(in, fmt.Sprintf("IMG_%04d.jpg", i)), []byte("x"), 0o644)
	}
	// Recorded after the settle time, as the watch records them: their status has not
	// changed since, so the walk trusts the journal and reads none of them.
	time.Sleep(200 * time.Millisecond)
	for i := 0; i < 2000; i++ {
		rel := fmt.Sprintf("IMG_%04d.jpg", i)
		fi, _ := os.Lstat(filepath.Join(in, rel))
		j.Append(Record{Op: OpDone, Time: time.Now(), Size: fi.Size(), ModTime: fi.ModTime(), Path: rel, Detail: rel + ".png"})
	}
	j.Close()
	w, _ := New(testConfig(in, out, newFake(out).handle))
	r, err := newRunner(w)
	if err != nil {
		b.Fatal(err)
	}
	defer r.fsw.Close()
	defer r.j.Close()
	r.root = in
	b.ReportAllocs()
	for b.Loop() {
		r.scan(in)
	}
	if len(r.pending) != 0 {
		b.Fatalf("%d pending", len(r.pending))
	}
}

// BenchmarkIgnored: the name filter applied to every event.
func BenchmarkIgnored(b *testing.B) {
	names := []string{"IMG_0001.JPG", "photo.jpg.part", ".DS_Store", "download.crdownload", "scan~"}
	for b.Loop() {
		for _, n := range names {
			Ignored(n)
		}
	}
}
