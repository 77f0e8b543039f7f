package main

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// importRules are the dependency arrows: main → app → {ui, engine/*}; engine/* never reaches
// the app or the window; internal/* are leaves. A package's Cutout imports must each match a
// prefix its rule allows ("" rules out every Cutout import).
var importRules = []struct {
	pkg   string // package path prefix
	allow []string
}{
	// The ONNX graph rewriting works on the bytes it is given: no other Cutout package but
	// the parallel loops.
	{"cutout/engine/onnxgraph", []string{"cutout/internal/parallel"}},
	{"cutout/engine/", []string{"cutout/engine/", "cutout/internal/beneath", "cutout/internal/parallel", "cutout/internal/quote"}},
	{"cutout/internal/", nil},
	// The window may use the finishing package's types and the Y′CbCr helpers; it never runs
	// the engine, validation or the model itself.
	{"cutout/ui", []string{"cutout/engine/matte", "cutout/engine/ycc", "cutout/internal/parallel", "cutout/internal/quote"}},
	// The queue knows nothing of images: it carries bytes and opaque settings.
	{"cutout/app/cluster", []string{"cutout/internal/quote"}},
	{"cutout/app/", []string{"cutout/engine/", "cutout/internal/"}},
	{"cutout/app", []string{"cutout/app/", "cutout/engine/", "cutout/ui", "cutout/internal/"}},
	{"cutout/scripts/", []string{"cutout/"}},
	{"cutout", []string{"cutout/app", "cutout/internal/localefix"}},
}

// TestImportRules checks every package of the module against importRules.
func TestImportRules(t *testing.T) {
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	checked := 0
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		rule := -1
		for i, r := range importRules {
			if p.ImportPath == r.pkg || strings.HasPrefix(p.ImportPath, r.pkg) && strings.HasSuffix(r.pkg, "/") {
				rule = i
				break
			}
		}
		if rule < 0 {
			t.Errorf("%s has no import rule", p.ImportPath)
			continue
		}
		checked++
		for _, imp := range p.Imports {
			if imp != "cutout" && !strings.HasPrefix(imp, "cutout/") {
				continue
			}
			ok := false
			for _, a := range importRules[rule].allow {
				if imp == a || strings.HasSuffix(a, "/") && strings.HasPrefix(imp, a) {
					ok = true
				}
			}
			if !ok {
				t.Errorf("%s imports %s, against the rules", p.ImportPath, imp)
			}
		}
	}
	if checked < 10 {
		t.Fatalf("only %d packages checked", checked)
	}
}
