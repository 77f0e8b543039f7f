package models

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"cutout/internal/testenv"
)

const entry = `
[[model]]
name = "tiny"
file = "tiny.onnx"
sha256 = "%s"
size = %d
input_size = 320
mean = [0.485, 0.456, 0.406]
std = [0.229, 0.224, 0.225]
scale = "max"
installed_by = "user"
`

func TestShippedManifestParses(t *testing.T) {
	m, err := Load(filepath.Join("..", "..", "models"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Default != "isnet-general-q8" {
		t.Errorf("default %q", m.Default)
	}
	for _, name := range []string{"isnet-general-q8", "isnet-general", "u2net", "u2netp", "u2net_human_seg", "silueta", "isnet-general-use"} {
		e, err := m.Lookup(name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if e.Path != filepath.Join(m.Dir, e.File) {
			t.Errorf("%s: path %s", name, e.Path)
		}
	}
	u, _ := m.Lookup("u2netp")
	if u.Size != 4574861 || u.SHA256 != "309c8469258dda742793dce0ebea8e6dd393174f89934733ecc8b14c76f4ddd8" {
		t.Errorf("u2netp entry %+v", u)
	}
	if _, err := m.Lookup("nope"); !errors.Is(err, ErrUnknownModel) {
		t.Errorf("unknown model: %v", err)
	}
}

func TestParseRefusesBadEntries(t *testing.T) {
	good := strings.ReplaceAll(entry, "%s", strings.Repeat("a", 64))
	good = strings.ReplaceAll(good, "%d", "10")
	if _, err := Parse([]byte(good)); err != nil {
		t.Fatalf("good entry refused: %v", err)
	}
	for name, bad := range map[string]string{
		"path in file":    strings.Replace(good, `"tiny.onnx"`, `"../etc/tiny.onnx"`, 1),
		"not onnx":        strings.Replace(good, `"tiny.onnx"`, `"tiny.bin"`, 1),
		"short sha":       strings.Replace(good, strings.Repeat("a", 64), "abc", 1),
		"no checksum":     strings.Replace(good, `sha256 = "`+strings.Repeat("a", 64)+`"`, "", 1),
		"zero std":        strings.Replace(good, "0.229,", "0,", 1),
		"bad scale":       strings.Replace(good, `"max"`, `"1"`, 1),
		"unknown key":     good + "\ncolour = 1\n",
		"duplicate":       good + good,
		"unknown default": "default = \"x\"\n" + good,
		"not toml":        "[[model]\n",
	} {
		if _, err := Parse([]byte(bad)); !errors.Is(err, ErrManifest) {
			t.Errorf("%s: err = %v, want ErrManifest", name, err)
		}
	}
}

func writeModel(t *testing.T, dir string, content []byte, sha string, size int) *Manifest {
	t.Helper()
	text := strings.Replace(strings.Replace(entry, "%s", sha, 1), "%d", strconv.Itoa(size), 1)
	if err := os.WriteFile(filepath.Join(dir, ManifestName), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if content != nil {
		if err := os.WriteFile(filepath.Join(dir, "tiny.onnx"), content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestVerify(t *testing.T) {
	content := []byte("pretend this is an ONNX model")
	sum := sha256.Sum256(content)
	sha := hex.EncodeToString(sum[:])

	dir := t.TempDir()
	m := writeModel(t, dir, content, sha, len(content))
	e, _ := m.Lookup("tiny")
	data, err := Verify(e)
	if err != nil || string(data) != string(content) {
		t.Fatalf("verified %q, %v", data, err)
	}

	// One byte changed, same size: refused by the checksum, with a message that says so.
	tampered := append([]byte{}, content...)
	tampered[0] ^= 1
	m = writeModel(t, t.TempDir(), tampered, sha, len(content))
	e, _ = m.Lookup("tiny")
	if _, err := Verify(e); !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), "refusing to load") {
		t.Fatalf("tampered model: %v", err)
	}
	// Wrong size: refused without hashing.
	m = writeModel(t, t.TempDir(), append(content, '!'), sha, len(content))
	e, _ = m.Lookup("tiny")
	if _, err := Verify(e); !errors.Is(err, ErrChecksum) {
		t.Fatalf("grown model: %v", err)
	}
	// Missing: says how to install it.
	m = writeModel(t, t.TempDir(), nil, sha, len(content))
	e, _ = m.Lookup("tiny")
	if _, err := Verify(e); !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), "copy tiny.onnx") {
		t.Fatalf("missing model: %v", err)
	}
}

// TestInstalledModelsVerify checks the real default models that `make models` installed.
func TestInstalledModelsVerify(t *testing.T) {
	testenv.NeedEngine(t)
	m, err := Load(filepath.Join("..", "..", "models"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range m.Models {
		if e.InstalledBy != "make" {
			continue
		}
		if _, err := Verify(e); err != nil {
			t.Errorf("%v (run `make models`)", err)
		}
	}
}
