package matte

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestParseRefine(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Refine
		err  bool
	}{
		{"none", RefineNone, false},
		{"guided", RefineGuided, false},
		{"closed-form", RefineClosedForm, false},
		{" Closed-Form ", RefineClosedForm, false},
		{"closedform", 0, true},
		{"", 0, true},
	} {
		got, err := ParseRefine(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseRefine(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.err)
		}
		if err == nil {
			if back, _ := ParseRefine(got.String()); back != got {
				t.Errorf("ParseRefine(%v.String()) = %v", got, back)
			}
		}
	}
	if s := Refine(7).String(); s != "Refine(7)" {
		t.Errorf("Refine(7).String() = %q", s)
	}
}

func TestParseBackground(t *testing.T) {
	for _, b := range []Background{BackgroundTransparent, BackgroundColor, BackgroundMask} {
		if got, err := ParseBackground(b.String()); err != nil || got != b {
			t.Errorf("ParseBackground(%q) = %v, %v", b.String(), got, err)
		}
	}
	if _, err := ParseBackground("blue"); err == nil {
		t.Error("ParseBackground(blue): no error")
	}
}

func TestDefaults(t *testing.T) {
	o := DefaultOptions()
	if o.FGThreshold != 240 || o.BGThreshold != 10 || o.Erode != 10 || o.BaseSize != 1000 ||
		o.Refine != RefineNone || o.EstimateForeground || o.Feather != 0 || o.Shift != 0 ||
		o.Background != BackgroundTransparent || o.EdgeColourStrength != 1 {
		t.Errorf("DefaultOptions() = %+v", o)
	}
	if !DefaultOptionsFor(RefineClosedForm).EstimateForeground || DefaultOptionsFor(RefineGuided).EstimateForeground {
		t.Error("EstimateForeground should default on for closed-form only")
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Options)
		want string // substring of the error; "" = valid
	}{
		{"defaults", func(*Options) {}, ""},
		{"closed-form", func(o *Options) { o.Refine = RefineClosedForm }, ""},
		{"fg high", func(o *Options) { o.FGThreshold = 256 }, "foreground threshold"},
		{"bg negative", func(o *Options) { o.BGThreshold = -1 }, "background threshold -1"},
		{"bg above fg", func(o *Options) { o.BGThreshold, o.FGThreshold = 200, 100 }, "above foreground"},
		{"erode", func(o *Options) { o.Erode = -2 }, "erode"},
		{"base small", func(o *Options) { o.BaseSize = 4 }, "base size"},
		{"base zero", func(o *Options) { o.BaseSize = 0 }, "base size"},
		{"refine", func(o *Options) { o.Refine = 9 }, "refinement"},
		{"feather", func(o *Options) { o.Feather = -1 }, "feather"},
		{"feather NaN", func(o *Options) { o.Feather = math.NaN() }, "feather"},
		{"shift", func(o *Options) { o.Shift = -5000 }, "shift"},
		{"radius", func(o *Options) { o.GuidedRadius = -1 }, "radius"},
		{"eps", func(o *Options) { o.GuidedEps = 2 }, "epsilon"},
		{"edge colours off", func(o *Options) { o.EdgeColourStrength = 0 }, ""},
		{"edge colours half", func(o *Options) { o.EdgeColourStrength = 0.5 }, ""},
		{"edge colours high", func(o *Options) { o.EdgeColourStrength = 1.5 }, "edge colour strength"},
		{"edge colours negative", func(o *Options) { o.EdgeColourStrength = -0.1 }, "edge colour strength"},
		{"edge colours NaN", func(o *Options) { o.EdgeColourStrength = math.NaN() }, "edge colour strength"},
		{"background", func(o *Options) { o.Background = -1 }, "background"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := DefaultOptions()
			tc.edit(&o)
			err := o.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

// Every field of Options is either a distance in pixels, which Scaled shrinks with the copy,
// or scale-free, which it leaves alone. A new field fails here until it is put in one list
// (and, if a distance, scaled).
func TestScaledCoversEveryField(t *testing.T) {
	distances := map[string]bool{"Erode": true, "Shift": true, "Feather": true, "GuidedRadius": true, "BaseSize": true}
	free := map[string]bool{"FGThreshold": true, "BGThreshold": true, "Refine": true, "EstimateForeground": true,
		"EdgeColourStrength": true, "PostProcess": true, "GuidedEps": true, "Background": true, "Color": true}
	base := DefaultOptionsFor(RefineGuided)
	base.Shift, base.Feather, base.GuidedRadius, base.BaseSize, base.Erode = 40, 20, 30, 4000, 20
	scaled := base.Scaled(0.25)
	bv, sv := reflect.ValueOf(base), reflect.ValueOf(scaled)
	for i := 0; i < bv.NumField(); i++ {
		name := bv.Type().Field(i).Name
		changed := !reflect.DeepEqual(bv.Field(i).Interface(), sv.Field(i).Interface())
		switch {
		case distances[name] && !changed:
			t.Errorf("%s is a distance but Scaled(0.25) left it at %v", name, bv.Field(i).Interface())
		case free[name] && changed:
			t.Errorf("%s is scale-free but Scaled changed it", name)
		case !distances[name] && !free[name]:
			t.Errorf("Options.%s is new: say in this test whether it is a distance (and scale it in Scaled) or scale-free", name)
		}
	}
	if got := (Options{Shift: -1, Erode: 1}).Scaled(0.1); got.Shift != -1 || got.Erode != 1 {
		t.Errorf("a one-pixel distance vanished: %+v", got)
	}
}
