package app

import (
	"flag"
	"image/color"
	"io"
	"slices"
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
