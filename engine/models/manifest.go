package models

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"

	"github.com/BurntSushi/toml"
)

// ManifestName is the manifest's file name inside the models folder.
const ManifestName = "models.toml"

// Scale says how 8-bit pixels are brought to [0,1] before mean/std normalisation.
type Scale string

const (
	// Scale255 divides every channel value by 255.
	Scale255 Scale = "255"
	// ScaleMax divides by the image's largest channel value, as rembg does.
	ScaleMax Scale = "max"
)

// Model is one manifest entry: a file and how to feed it.
type Model struct {
	Name        string     `toml:"name"`
	Description string     `toml:"description"`
	File        string     `toml:"file"`
	SHA256      string     `toml:"sha256"`
	MD5         string     `toml:"md5"`
	Size        int64      `toml:"size"`
	Input       string     `toml:"input"`
	Output      string     `toml:"output"`
	InputSize   int        `toml:"input_size"`
	Mean        [3]float32 `toml:"mean"`
	Std         [3]float32 `toml:"std"`
	Scale       Scale      `toml:"scale"`
	// Graph is ONNX Runtime's graph optimisation level for this model: "all" (the default)
	// or "extended" (no layout transformations: less memory for some models).
	Graph       string `toml:"graph"`
	InstalledBy string `toml:"installed_by"`
	Licence     string `toml:"licence"`

	// Path is the model file's absolute path, filled in by Load.
	Path string `toml:"-"`
	// Unverified marks a user's own model loaded with --allow-unverified-model.
	Unverified bool `toml:"-"`
}

// Manifest is the parsed models.toml.
type Manifest struct {
	Default string   `toml:"default"`
	Models  []*Model `toml:"model"`
	// Dir is the folder the manifest was read from.
	Dir string `toml:"-"`
}

var (
	// ErrUnknownModel means no manifest entry has the requested name.
	ErrUnknownModel = errors.New("unknown model")
	// ErrNotInstalled means the manifest lists the model but its file is missing.
	ErrNotInstalled = errors.New("model file is not installed")
	// ErrChecksum means the model file's size or checksum differs from the manifest.
	ErrChecksum = errors.New("model file does not match its checksum")
	// ErrManifest means models.toml is missing or invalid.
	ErrManifest = errors.New("invalid model manifest")
)

var (
	hexSHA256 = regexp.MustCompile(`^[0-9a-f]{64}$`)
	hexMD5    = regexp.MustCompile(`^[0-9a-f]{32}$`)
	safeName  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
)

// Load reads dir/models.toml and checks every entry.
func Load(dir string) (*Manifest, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(filepath.Join(abs, ManifestName))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrManifest, err)
	}
	m, err := Parse(data)
	if err != nil {
		return nil, err
	}
	m.Dir = abs
	for _, e := range m.Models {
		e.Path = filepath.Join(abs, e.File)
	}
	return m, nil
}

// Parse decodes and checks a manifest; model paths are left empty.
func Parse(data []byte) (*Manifest, error) {
	var m Manifest
	md, err := toml.Decode(string(data), &m)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrManifest, err)
	}
	if undec := md.Undecoded(); len(undec) > 0 {
		return nil, fmt.Errorf("%w: unknown key %q", ErrManifest, undec[0].String())
	}
	seen := map[string]bool{}
	for i, e := range m.Models {
		if err := e.check(); err != nil {
			return nil, fmt.Errorf("%w: entry %d (%s): %v", ErrManifest, i+1, e.Name, err)
		}
		if seen[e.Name] {
			return nil, fmt.Errorf("%w: model %q is listed twice", ErrManifest, e.Name)
		}
		seen[e.Name] = true
	}
	if m.Default != "" && !seen[m.Default] {
		return nil, fmt.Errorf("%w: default model %q is not listed", ErrManifest, m.Default)
	}
	return &m, nil
}

func (e *Model) check() error {
	switch {
	case !safeName.MatchString(e.Name):
		return fmt.Errorf("name %q must be letters, digits, '.', '_' or '-'", e.Name)
	case !safeName.MatchString(e.File) || filepath.Ext(e.File) != ".onnx":
		return fmt.Errorf("file %q must be a plain .onnx file name inside the models folder", e.File)
	case e.SHA256 == "" && e.MD5 == "":
		return errors.New("needs a sha256 (or, where the project publishes only that, an md5)")
	case e.SHA256 != "" && !hexSHA256.MatchString(e.SHA256):
		return fmt.Errorf("sha256 %q is not 64 lower-case hex digits", e.SHA256)
	case e.MD5 != "" && !hexMD5.MatchString(e.MD5):
		return fmt.Errorf("md5 %q is not 32 lower-case hex digits", e.MD5)
	case e.Size <= 0:
		return errors.New("size must be positive")
	case e.InputSize < 16 || e.InputSize > 4096:
		return fmt.Errorf("input_size %d is out of range 16..4096", e.InputSize)
	case e.Scale != Scale255 && e.Scale != ScaleMax:
		return fmt.Errorf("scale %q must be \"255\" or \"max\"", e.Scale)
	case e.Graph != "" && e.Graph != "all" && e.Graph != "extended":
		return fmt.Errorf("graph %q must be \"all\" or \"extended\"", e.Graph)
	}
	for c, s := range e.Std {
		if s <= 0 {
			return fmt.Errorf("std[%d] must be positive", c)
		}
	}
	return nil
}

// Lookup returns the named model, or the default one when name is empty.
func (m *Manifest) Lookup(name string) (*Model, error) {
	if name == "" {
		name = m.Default
	}
	for _, e := range m.Models {
		if e.Name == name {
			return e, nil
		}
	}
	return nil, fmt.Errorf("%w %q (known: %v)", ErrUnknownModel, name, m.Names())
}

// Names lists the manifest's model names in order.
func (m *Manifest) Names() []string {
	names := make([]string, 0, len(m.Models))
	for _, e := range m.Models {
		names = append(names, e.Name)
	}
	return names
}

// Installed lists the models whose files are present, sorted by name.
func (m *Manifest) Installed() []*Model {
	var out []*Model
	for _, e := range m.Models {
		if fi, err := os.Stat(e.Path); err == nil && fi.Mode().IsRegular() {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
