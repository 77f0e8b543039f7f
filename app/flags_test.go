package app

import (
	"flag"
	"image/color"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"cutout/engine/matte"
)

func TestParseInterspersed(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		pos     []string
		out     string
		verbose bool
	}{
		{[]string{"a.jpg", "b.jpg", "-o", "out"}, []string{"a.jpg", "b.jpg"}, "out", false},
		{[]string{"-o", "out", "a.jpg", "-v", "b.jpg"}, []string{"a.jpg", "b.jpg"}, "out", true},
		{[]string{"a.jpg", "--", "-o", "x"}, []string{"a.jpg", "-o", "x"}, "", false},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		out := fs.String("o", "", "")
		v := fs.Bool("v", false, "")
		pos, err := parseInterspersed(fs, tc.args)
		if err != nil || !slices.Equal(pos, tc.pos) || *out != tc.out || *v != tc.verbose {
			t.Errorf("%v: pos %v out %q v %v err %v", tc.args, pos, *out, *v, err)
		}
	}
}

func TestParseColor(t *testing.T) {
	for in, want := range map[string]color.NRGBA{
		"#ff8000": {255, 128, 0, 255},
		"00FF00":  {0, 255, 0, 255},
		"#fff":    {255, 255, 255, 255},
	} {
		if got, err := ParseColor(in); err != nil || got != want {
			t.Errorf("%s: %v %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "#12345", "#gggggg", "red"} {
		if _, err := ParseColor(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestMatteFlags(t *testing.T) {
	parse := func(args ...string) (matte.Options, error) {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		get := matteFlags(fs)
		if err := fs.Parse(args); err != nil {
			return matte.Options{}, err
		}
		return get()
	}
	o, err := parse("--matting", "--fg-threshold", "200", "--erode", "5")
	if err != nil || o.Refine != matte.RefineClosedForm || o.FGThreshold != 200 || o.Erode != 5 || !o.EstimateForeground {
		t.Fatalf("--matting: %+v %v", o, err)
	}
	if o, err = parse("--mask"); err != nil || o.Background != matte.BackgroundMask {
		t.Fatalf("--mask: %+v %v", o, err)
	}
	if o, err = parse("--bgcolor", "#102030"); err != nil || o.Background != matte.BackgroundColor || o.Color != (color.NRGBA{0x10, 0x20, 0x30, 255}) {
		t.Fatalf("--bgcolor: %+v %v", o, err)
	}
	if _, err = parse("--mask", "--bgcolor", "#000000"); err == nil {
		t.Fatal("--mask with --bgcolor accepted")
	}
	if _, err = parse("--fg-threshold", "300"); err == nil {
		t.Fatal("threshold 300 accepted")
	}
	if _, err = parse("--refine", "magic"); err == nil {
		t.Fatal("unknown refinement accepted")
	}
}

// TestArgumentsThatAreFiles: a file whose name is a flag never switches the flag on. After
// "--" everything is a path; a flag-like name that is no flag of the command but an
// existing file is a path; a name that is both a flag and an existing file is refused.
func TestArgumentsThatAreFiles(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	for _, name := range []string{"--overwrite", "-photo.jpg", "a.jpg"} {
		if err := os.WriteFile(name, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	parse := func(args ...string) ([]string, string, bool, error) {
		fs := flag.NewFlagSet("remove", flag.ContinueOnError)
		var msg strings.Builder
		fs.SetOutput(&msg)
		out := fs.String("o", "", "")
		over := fs.Bool("overwrite", false, "")
		pos, err := parseInterspersed(fs, args)
		if err != nil {
			return nil, msg.String(), *over, err
		}
		return pos, *out, *over, nil
	}

	// What `cutout remove * -o out` becomes here.
	_, msg, over, err := parse("--overwrite", "-photo.jpg", "a.jpg", "-o", "out")
	if err == nil || over {
		t.Fatalf("a file named --overwrite: err %v, overwrite %v; want a refusal", err, over)
	}
	if !strings.Contains(msg, `"--overwrite" is both a flag`) || !strings.Contains(msg, "--") {
		t.Errorf("the refusal does not say what to do: %q", msg)
	}
	pos, out, over, err := parse("-o", "out", "--", "--overwrite", "-photo.jpg", "a.jpg")
	if err != nil || over || out != "out" || !slices.Equal(pos, []string{"--overwrite", "-photo.jpg", "a.jpg"}) {
		t.Errorf("after --: %v %q %v %v", pos, out, over, err)
	}
	pos, _, over, err = parse("-photo.jpg", "./--overwrite", "-o", "out")
	if err != nil || over || !slices.Equal(pos, []string{"-photo.jpg", "./--overwrite"}) {
		t.Errorf("an existing file that is no flag: %v %v %v", pos, over, err)
	}
	pos, _, over, err = parse("a.jpg", "--overwrite=true", "-o", "out")
	if err != nil || !over || !slices.Equal(pos, []string{"a.jpg"}) {
		t.Errorf("a flag typed as such (no such file): %v %v %v", pos, over, err)
	}
	// A flag's value is taken whatever it looks like, as the flag package takes it.
	if _, out, _, err = parse("-o", "-photo.jpg"); err != nil || out != "-photo.jpg" {
		t.Errorf("a value that looks like a flag: %q %v", out, err)
	}
	// A flag that is neither the command's nor a file is a usage error.
	if _, _, _, err = parse("--nope", "a.jpg"); err == nil {
		t.Error("an unknown flag was accepted")
	}
}
