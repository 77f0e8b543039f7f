package app

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"cutout/internal/testenv"
)

// hugePNG is a valid 1×1 PNG whose header (with a correct CRC) claims 100,000 × 100,000.
func hugePNG(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	png.Encode(&b, image.NewGray(image.Rect(0, 0, 1, 1)))
	data := b.Bytes()
	binary.BigEndian.PutUint32(data[16:], 100000)
	binary.BigEndian.PutUint32(data[20:], 100000)
	binary.BigEndian.PutUint32(data[29:], crc32.ChecksumIEEE(data[12:29]))
	return data
}

// TestRemoveHostileBatch: a batch mixing hostile inputs with one real photo. Each hostile
// input is refused quickly with a line naming it and the reason; the photo is still cut out;
// nothing blocks (the FIFO) and nothing is read through the links.
func TestRemoveHostileBatch(t *testing.T) {
	testenv.NeedEngine(t)
	in := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(in, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	link := func(name, target string) string {
		p := filepath.Join(in, name)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fifo := filepath.Join(in, "pipe.png")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	jpeg := sample(t, "rocket.jpg")
	cases := map[string]string{ // path → words the refusal must contain
		write("huge.png", hugePNG(t)):                              "100000 × 100000",
		write("archive.png", []byte("PK\x03\x04\x14\x00\x00\x00")): "ZIP",
		write("page.png", []byte("<!DOCTYPE html><html></html>")):  "HTML",
		write("empty.jpg", nil):                                    "empty",
		write("cut.jpg", jpeg[:len(jpeg)/2]):                       "damaged",
		write("disguised.png", jpeg):                               "JPEG",
		// Links named on the command line are followed (the user chose them): what they
		// lead to is refused for what it is.
		link("passwd.png", "/etc/passwd"): "a text file",
		link("zero.png", "/dev/zero"):     "a link to a device",
		fifo:                              "not a regular file",
	}
	photo := write("coffee.png", sample(t, "coffee.png"))

	args := []string{"remove", "-o", filepath.Join(t.TempDir(), "out")}
	for p := range cases {
		args = append(args, p)
	}
	args = append(args, photo)
	var stdout, stderr bytes.Buffer
	start := time.Now()
	code := Main(args, &stdout, &stderr)
	log := stderr.String()
	t.Log(log)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	for p, words := range cases {
		name := filepath.Base(p)
		found := false
		for _, line := range strings.Split(log, "\n") {
			if strings.Contains(line, "failed:") && strings.Contains(line, name) && strings.Contains(line, words) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no failure line naming it with %q", name, words)
		}
	}
	if !strings.Contains(log, "done 1, failed 9") {
		t.Errorf("summary missing")
	}
	if _, err := os.Stat(filepath.Join(args[2], "coffee.png")); err != nil {
		t.Errorf("the photo was not cut out: %v", err)
	}
	t.Logf("whole batch, engine start included: %s", time.Since(start))
}
