package app

import (
	"bytes"
	"errors"
	"image"
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
		p, err := s.Write(dir, "photo.png", false, writeString(body))
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
	p, err := s.Write(dir, "x.png", false, writeString("result"))
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
	p2, err := s.Write(dir, "x (1).png", false, writeString("again"))
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
	_, err := s.Write(dir, "sub/a.png", false, func(w io.Writer) error {
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

// TestWritePNGStreams: WriteImage writes the same bytes as encoding into memory, under the name
// with .png; an encoder failure midway comes back as an EncodeError and leaves nothing.
func TestWritePNGStreams(t *testing.T) {
	dir := t.TempDir()
	s := &Sink{}
	img := image.NewNRGBA(image.Rect(0, 0, 640, 480))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7 / 5)
	}
	var want bytes.Buffer
	if err := s.EncodePNG(&want, img); err != nil {
		t.Fatal(err)
	}
	path, enc, write, err := s.WriteImage(dir, "photo.jpg", ".png", false, func(w io.Writer) error { return s.EncodePNG(w, img) })
	if err != nil || filepath.Base(path) != "photo.png" || enc <= 0 || write <= 0 {
		t.Fatalf("WriteImage: %s, encode %v, write %v, %v", path, enc, write, err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("the file differs from the PNG encoded in memory (%d vs %d bytes)", len(got), want.Len())
	}

	boom := errors.New("encoder failed")
	_, _, _, err = s.WriteImage(dir, "other.jpg", ".png", false, func(w io.Writer) error {
		w.Write(want.Bytes()) // past the buffer: bytes reach the temporary file
		w.Write(want.Bytes())
		return boom
	})
	var ee *EncodeError
	if !errors.As(err, &ee) || !errors.Is(err, boom) {
		t.Fatalf("encoder failure: %v, want an EncodeError", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "other.png")); !os.IsNotExist(err) {
		t.Fatalf("a partial output exists: %v", err)
	}
	assertNoTemp(t, dir)

	// An output folder that cannot be made is a write failure, not an encoding one.
	file := filepath.Join(dir, "a file")
	os.WriteFile(file, nil, 0o644)
	_, _, _, err = s.WriteImage(filepath.Join(file, "out"), "x.jpg", ".png", false, func(w io.Writer) error { return s.EncodePNG(w, img) })
	if err == nil || errors.As(err, &ee) {
		t.Fatalf("output folder under a file: %v, want a write error", err)
	}
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
	write := writeString(string(data))
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := s.Write(dir, "photo.png", false, write); err != nil {
			b.Fatal(err)
		}
	}
}
