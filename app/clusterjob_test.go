package app

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"strings"
	"testing"

	"cutout/app/cluster"
	"cutout/engine/matte"
	"cutout/engine/validate"
)

// TestCheckResultAgreesWithFrame: for every framing, the size the hub expects of a worker's
// result is the size Frame.apply makes; a result of another size or format is refused.
func TestCheckResultAgreesWithFrame(t *testing.T) {
	subject := image.Rect(75, 50, 175, 225)
	img := subjectImage(400, 300, subject, image.Pt(375, 12))
	in := validate.Info{Width: 400, Height: 300}
	for _, f := range []Frame{{}, {MarginPx: 40}, {MarginPct: 10}, {Crop: true}, {Crop: true, MarginPct: 10},
		{Crop: true, MarginPx: 7}, {Canvas: image.Pt(250, 200)}, {Crop: true, MarginPct: 5, Canvas: image.Pt(120, 120)}} {
		out := f.apply(img, alphaOfNRGBA(img), color.NRGBA{})
		var b bytes.Buffer
		png.Encode(&b, out)
		s := clusterSettings{Format: "png", Frame: f}
		if err := checkResult(b.Bytes(), s, in); err != nil {
			t.Errorf("%+v: a true result (%v) refused: %v", f, out.Rect.Size(), err)
		}
		if !f.Crop {
			b.Reset()
			png.Encode(&b, image.NewNRGBA(image.Rect(0, 0, out.Rect.Dx()+1, out.Rect.Dy())))
			if err := checkResult(b.Bytes(), s, in); err == nil {
				t.Errorf("%+v: a result one pixel wider taken", f)
			}
		}
	}
	var b bytes.Buffer
	png.Encode(&b, image.NewNRGBA(image.Rect(0, 0, 300, 400)))
	if err := checkResult(b.Bytes(), clusterSettings{Format: "png"}, in); err != nil {
		t.Errorf("a result turned upright (EXIF) refused: %v", err)
	}
	if err := checkResult(b.Bytes(), clusterSettings{Format: "webp"}, in); err == nil || !strings.Contains(err.Error(), "not a WebP") {
		t.Errorf("a PNG for a WebP: %v", err)
	}
	b.Reset()
	jpeg.Encode(&b, image.NewRGBA(image.Rect(0, 0, 400, 300)), nil)
	if err := checkResult(b.Bytes(), clusterSettings{Format: "jpeg"}, in); err != nil {
		t.Errorf("a true JPEG refused: %v", err)
	}
	if err := checkResult([]byte("\x89PNG\r\n\x1a\ngarbage"), clusterSettings{Format: "png"}, in); err == nil {
		t.Error("a broken header taken")
	}
}

// TestDecodeSettings: a worker takes the hub's settings as they were sent, and refuses them
// when they do not match their fingerprint, have fields it does not know, or are out of range.
func TestDecodeSettings(t *testing.T) {
	model := cluster.ModelToken("7001d60734fdc112dd9c062635fb59cd401fb82a9d4213134bce4dbd655c803a")
	mo := matte.DefaultOptionsFor(matte.RefineGuided)
	mo.Background, mo.Color = matte.BackgroundColor, color.NRGBA{R: 9, A: 255}
	s := settingsOf(mo, Output{Format: "webp", Quality: 80, Frame: Frame{Crop: true, MarginPct: 5}}, png.BestSpeed)
	raw, fp := s.encoded(model)
	got, err := decodeSettings(&cluster.Job{Model: model, Settings: raw, Fingerprint: fp})
	if err != nil || got != s {
		t.Fatalf("decoded %+v, %v; sent %+v", got, err, s)
	}
	if _, err := decodeSettings(&cluster.Job{Model: model, Settings: raw, Fingerprint: strings.Repeat("0", 64)}); err == nil {
		t.Error("a wrong fingerprint taken")
	}
	var m map[string]any
	json.Unmarshal(raw, &m)
	m["Sharpen"] = 3
	extra, _ := json.Marshal(m)
	if _, err := decodeSettings(&cluster.Job{Model: model, Settings: extra, Fingerprint: clusterFingerprint(model, extra)}); err == nil {
		t.Error("an unknown setting taken")
	}
	bad := s
	bad.Frame.Canvas = image.Pt(100000, 10)
	raw, fp = bad.encoded(model)
	if _, err := decodeSettings(&cluster.Job{Model: model, Settings: raw, Fingerprint: fp}); err == nil {
		t.Error("an absurd canvas taken")
	}
}

// TestWatchClusterFlags: the flags that make no sense together are refused before anything
// starts.
func TestWatchClusterFlags(t *testing.T) {
	in, out := t.TempDir(), t.TempDir()
	for _, args := range [][]string{
		{"--workers-only"},
		{"--serve", "127.0.0.1:4222", "--queue", "nats://127.0.0.1:4222"},
		{"--queue", "127.0.0.1:4222", "--token-file", "t"},
		{"--queue", "nats://127.0.0.1:4222"},
		{"--serve", "127.0.0.1:4222", "--tls-cert", "c"},
		{"--serve", "127.0.0.1:4222", "--max-deliver", "0"},
	} {
		if c, code := parseWatch(append([]string{in, out}, args...), io.Discard); c != nil || code != 2 {
			t.Errorf("%v: taken (exit %d)", args, code)
		}
	}
	c, _ := parseWatch([]string{in, out, "--serve", "127.0.0.1:4222", "--in-flight", "5"}, io.Discard)
	if c == nil || c.cluster == nil || c.cfg.Workers != 5 || !strings.HasSuffix(c.cluster.tokenFile, ".cutout-token") {
		t.Fatalf("--serve: %+v", c)
	}
}
