package app

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
)

// Without a graphical session `cutout` says so in a sentence, names the commands that work,
// and exits 2 (instead of a toolkit's panic).
func TestNoDisplaySaysWhatToDo(t *testing.T) {
	t.Setenv("DISPLAY", "")
	t.Setenv("WAYLAND_DISPLAY", "")
	var stdout, stderr bytes.Buffer
	if code := Main(nil, &stdout, &stderr); code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	msg := stderr.String()
	for _, want := range []string{"needs a graphical session", "cutout remove", "cutout watch"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the message lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "panic") || strings.Count(msg, "\n") > 4 {
		t.Errorf("not a short sentence:\n%s", msg)
	}
}

func TestNoDisplay(t *testing.T) {
	env := func(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }
	none := func(string) (os.FileInfo, error) { return nil, errors.New("no such file") }
	some := func(string) (os.FileInfo, error) { return nil, nil }
	for _, tc := range []struct {
		vars  map[string]string
		stat  func(string) (os.FileInfo, error)
		fails bool
	}{
		{map[string]string{}, some, true},
		{map[string]string{"WAYLAND_DISPLAY": "wayland-0"}, none, false},
		{map[string]string{"DISPLAY": ":99"}, some, false},
		{map[string]string{"DISPLAY": ":99.0"}, none, true},
		{map[string]string{"DISPLAY": "unix:1"}, none, true},
		{map[string]string{"DISPLAY": "remote:10.0"}, none, false},
	} {
		if got := noDisplay(env(tc.vars), tc.stat); (got != "") != tc.fails {
			t.Errorf("%v: %q", tc.vars, got)
		}
	}
}

// `cutout photo.jpg shoots/` opens the window with them; a command's name or a missing path
// is no such request.
func TestOpenable(t *testing.T) {
	dir := t.TempDir()
	photo := dir + "/a.jpg"
	os.WriteFile(photo, []byte("x"), 0o644)
	for _, tc := range []struct {
		args []string
		want bool
	}{{[]string{photo}, true}, {[]string{photo, dir}, true}, {[]string{photo, dir + "/missing.jpg"}, false},
		{[]string{"remove", photo}, false}, {[]string{"nope.jpg"}, false}} {
		if got := openable(tc.args); got != tc.want {
			t.Errorf("openable(%v) = %v", tc.args, got)
		}
	}
}
