package watch

import "testing"

func TestIgnored(t *testing.T) {
	for name, want := range map[string]bool{
		"IMG_0001.JPG": false, "photo.png": false, "no extension": false,
		".DS_Store": true, ".hidden.jpg": true, ".cutout-done": true, "photo.jpg.part": true, "photo.JPG.PART": true,
		"photo.jpg.crdownload": true, "photo.jpg.tmp": true, "photo.jpg~": true, "photo.jpg.download": true, "": true,
	} {
		if got := Ignored(name); got != want {
			t.Errorf("Ignored(%q) = %v, want %v", name, got, want)
		}
	}
	if !hiddenPath("a/.cache/x.jpg") || hiddenPath("a/b/x.jpg") {
		t.Error("hiddenPath")
	}
}

func TestMayBeOutputOf(t *testing.T) {
	for _, tc := range []struct {
		abs, rel string
		want     bool
	}{
		{"/o/a.png", "a.jpg", true},
		{"/o/a (12).png", "a.jpg", true},
		{"/o/a (x).png", "a.jpg", false},
		{"/o/a ().png", "a.jpg", false},
		{"/o/ab.png", "a.jpg", false},
		{"/o/sub/a.png", "a.jpg", false},
		{"/o/sub/a (1).png", "sub/a.png", true},
		{"/o/a.jpg", "a.jpg", false},
	} {
		if got := mayBeOutputOf(tc.abs, "/o", tc.rel, ".png"); got != tc.want {
			t.Errorf("mayBeOutputOf(%q, %q) = %v", tc.abs, tc.rel, got)
		}
	}
}
