package app

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeString(s string) func(io.Writer) error {
	return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
}

func TestSinkNeverClobbers(t *testing.T) {
	dir := t.TempDir()
	s := &Sink{}
	var got []string
	for _, body := range []string{"one", "two", "three"} {
		p, err := s.Write(dir, "photo.png", writeString(body))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, filepath.Base(p))
	}
	want := []string{"photo.png", "photo (1).png", "photo (2).png"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("names %v, want %v", got, want)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "photo.png")); string(b) != "one" {
		t.Fatalf("first output was changed to %q", b)
	}
	assertNoTemp(t, dir)
}

func TestSinkOverwriteSparesProtectedInputs(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "x.png")
	if err := os.WriteFile(in, []byte("input"), 0o644); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(in)
	s := &Sink{Overwrite: true, Protect: []os.FileInfo{fi}}
	p, err := s.Write(dir, "x.png", writeString("result"))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(in); string(b) != "input" {
		t.Fatalf("the input was overwritten: %q", b)
	}
	if filepath.Base(p) != "x (1).png" {
		t.Fatalf("wrote %s", p)
	}
	// An earlier output (not an input) is replaced in place.
	p2, err := s.Write(dir, "x (1).png", writeString("again"))
	if err != nil || p2 != p {
		t.Fatalf("overwrite wrote %s, %v; want %s", p2, err, p)
	}
	if b, _ := os.ReadFile(p); string(b) != "again" {
		t.Fatalf("not replaced: %q", b)
	}
}

func TestSinkFailedWriteLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	s := &Sink{}
	boom := errors.New("encoder failed")
	_, err := s.Write(dir, "sub/a.png", func(w io.Writer) error {
		io.WriteString(w, strings.Repeat("x", 1<<21)) // past the buffer: bytes reach the temp file
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "sub", "a.png")); !os.IsNotExist(err) {
		t.Fatalf("a partial output exists: %v", err)
	}
	assertNoTemp(t, filepath.Join(dir, "sub"))
}

func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Fatalf("temporary file left behind: %s", e.Name())
		}
	}
}

// BenchmarkSinkWrite: the atomic write of a 12 MP cut-out's PNG (about 20 MB): temporary
// file, fsync, link to a free name.
func BenchmarkSinkWrite(b *testing.B) {
	dir := b.TempDir()
	data := make([]byte, 20<<20)
	for i := range data {
		data[i] = byte(i * 31)
	}
	s := &Sink{Overwrite: true}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := s.WriteBytes(dir, "photo.jpg", ".png", data); err != nil {
			b.Fatal(err)
		}
	}
}
