package ui

import (
	"go/build"
	"strings"
	"testing"
)

// ui imports engine/matte, engine/ycc (decoded pixels' colour conversion) and Fyne's widgets
// only: never app (app imports ui), never the packages that touch untrusted bytes or the
// model, never Fyne's GL-linked app package (its tests must run with no display and no cgo).
func TestImportArrow(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range append(pkg.Imports, pkg.TestImports...) {
		bad := imp == "cutout/app" || strings.HasPrefix(imp, "cutout/app/") || imp == "fyne.io/fyne/v2/app" ||
			strings.HasPrefix(imp, "cutout/engine/") && imp != "cutout/engine/matte" && imp != "cutout/engine/ycc"
		if bad {
			t.Errorf("ui imports %s", imp)
		}
	}
}
