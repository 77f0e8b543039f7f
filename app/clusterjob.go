package app

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"math"
	"strings"
	"sync"

	"golang.org/x/image/webp"

	"cutout/app/cluster"
	"cutout/engine/matte"
	"cutout/engine/validate"
	"cutout/internal/quote"
)

// clusterSettings is what a job asks of a worker besides the model: the finishing and format
// options the hub was started with. They travel in every job, as JSON, and the worker applies
// them, so one set of workers serves hubs with any settings and a worker needs only its
// engine's flags. The model does not travel: a worker takes only jobs for the model it has
// installed and verified (cluster.ModelToken of its checksum).
type clusterSettings struct {
	Matte     matte.Options
	Format    string
	Quality   int
	Frame     Frame
	BgImageID string // the background's object is "bg-" + BgImageID in the inputs store
	BgBlur    float64
	FastPNG   bool
}

func settingsOf(mo matte.Options, out Output, level png.CompressionLevel) clusterSettings {
	return clusterSettings{Matte: mo, Format: out.Format, Quality: out.Quality, Frame: out.Frame,
		BgImageID: out.BgImageID, BgBlur: out.BgBlur, FastPNG: level == png.BestSpeed}
}

func (s clusterSettings) output() Output {
	return Output{Format: s.Format, Quality: s.Quality, Frame: s.Frame, BgImageID: s.BgImageID, BgBlur: s.BgBlur}
}

func (s clusterSettings) level() png.CompressionLevel {
	if s.FastPNG {
		return png.BestSpeed
	}
	return png.DefaultCompression
}

// encoded is s as it travels, and the fingerprint of the model and those bytes.
func (s clusterSettings) encoded(model string) (json.RawMessage, string) {
	b, _ := json.Marshal(s)
	return b, clusterFingerprint(model, b)
}

func clusterFingerprint(model string, settings []byte) string {
	return cluster.HashHex(append([]byte(model+"\x00"), settings...))
}

// decodeSettings reads a job's settings as a worker must: every field known, the
// fingerprint the same once they are encoded again (a hub of another version sends
// something else), and each value in the range the flags allow.
func decodeSettings(j *cluster.Job) (clusterSettings, error) {
	var s clusterSettings
	d := json.NewDecoder(bytes.NewReader(j.Settings))
	d.DisallowUnknownFields()
	if err := d.Decode(&s); err != nil {
		return s, fmt.Errorf("they cannot be read (%s)", err)
	}
	if _, fp := s.encoded(j.Model); fp != j.Fingerprint {
		return s, errors.New("they do not match their fingerprint")
	}
	if err := s.Matte.Validate(); err != nil {
		return s, err
	}
	if s.Matte.Background < matte.BackgroundTransparent || s.Matte.Background > matte.BackgroundMask {
		return s, errors.New("the background is unknown")
	}
	if _, err := ParseOutput(s.Format, s.Quality); err != nil || s.Format == "" {
		return s, fmt.Errorf("the format %s is unknown", quote.Name(s.Format))
	}
	f := s.Frame
	switch {
	case f.MarginPx < 0 || f.MarginPx > 10000 || math.IsNaN(f.MarginPct) || f.MarginPct < 0 || f.MarginPct >= 50:
		return s, errors.New("the margin is out of range")
	case f.Canvas != (image.Point{}) && (f.Canvas.X < 1 || f.Canvas.Y < 1 || f.Canvas.X > 16384 || f.Canvas.Y > 16384):
		return s, errors.New("the canvas is out of range")
	case math.IsNaN(s.BgBlur) || s.BgBlur < 0 || s.BgBlur > 500:
		return s, errors.New("the background blur is out of range")
	case s.BgImageID != "" && (len(s.BgImageID) != 16 || strings.ToLower(s.BgImageID) != s.BgImageID || !isHexString(s.BgImageID)):
		return s, errors.New("the background image's name is not one")
	case s.BgImageID != "" && s.BgBlur > 0:
		return s, errors.New("a background image and a blur together")
	}
	return s, nil
}

func isHexString(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}

// outputSize is the size of the finished image for an input of w × h as the header says
// (the engine may turn it upright: w and h swapped), framed by f: exactly want (or want
// swapped), or, when cropping, at most bound on each side.
func outputSize(f Frame, w, h int) (want image.Point, bound int, crop bool) {
	if f.Canvas != (image.Point{}) {
		return f.Canvas, 0, false
	}
	longer := max(w, h)
	m := f.MarginPx
	if f.MarginPct > 0 { // as Frame.apply computes it: pct of the output's longer side
		m = int(math.Round(f.MarginPct / 100 * float64(longer) / (1 - 2*f.MarginPct/100)))
	}
	if f.Crop {
		return image.Point{}, longer + 2*m, true
	}
	return image.Pt(w+2*m, h+2*m), 0, false
}

// checkResult checks a worker's result before it is written: a file of the hub's format
// whose header gives the size the input and the framing make. Only the header is decoded.
func checkResult(data []byte, s clusterSettings, in validate.Info) error {
	var cfg image.Config
	var err error
	switch s.Format {
	case "webp":
		if len(data) < 12 || string(data[:4]) != "RIFF" || string(data[8:12]) != "WEBP" {
			return errors.New("a file that is not a WebP")
		}
		cfg, err = webp.DecodeConfig(bytes.NewReader(data))
	case "jpeg":
		if !bytes.HasPrefix(data, []byte{0xff, 0xd8, 0xff}) {
			return errors.New("a file that is not a JPEG")
		}
		cfg, err = jpeg.DecodeConfig(bytes.NewReader(data))
	default:
		if !bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")) {
			return errors.New("a file that is not a PNG")
		}
		cfg, err = png.DecodeConfig(bytes.NewReader(data))
	}
	if err != nil {
		return fmt.Errorf("a file whose header cannot be read (%s)", quote.Text(err.Error()))
	}
	want, bound, crop := outputSize(s.Frame, in.Width, in.Height)
	got := image.Pt(cfg.Width, cfg.Height)
	switch {
	case crop && got.X >= 1 && got.Y >= 1 && got.X <= bound && got.Y <= bound:
		return nil
	case !crop && (got == want || got == image.Pt(want.Y, want.X)):
		return nil
	case crop:
		return fmt.Errorf("an image of %d × %d, larger than a crop of %d × %d can be", got.X, got.Y, in.Width, in.Height)
	}
	return fmt.Errorf("an image of %d × %d where %d × %d was due", got.X, got.Y, want.X, want.Y)
}

// clusterWork is a worker's pipeline: the same validation, engine and finishing as the
// command line, on bytes that came over the network and are trusted no more than a file.
type clusterWork struct {
	eng    Engine
	limits validate.Limits
	model  string           // the token of the engine's model
	pin    *clusterSettings // the worker's own finishing flags, when it was given any

	bgMu sync.Mutex
	bgID string
	bg   *image.NRGBA
}

// process runs one job (see cluster.Process).
func (w *clusterWork) process(ctx context.Context, j *cluster.Job, data []byte, fetch func(context.Context, string, int64) ([]byte, error)) ([]byte, error) {
	name := quote.Name(j.Name)
	s, err := decodeSettings(j)
	if err != nil {
		return nil, cluster.Later(fmt.Errorf("the hub's settings for %s cannot be used by this worker: %s (is the hub another version of Cutout?)", name, err))
	}
	if w.pin != nil {
		p := *w.pin
		p.FastPNG, p.BgImageID = s.FastPNG, s.BgImageID
		if p != s {
			return nil, cluster.Later(fmt.Errorf("this worker was started with finishing or format flags that differ from the hub's; start it without them (the hub's travel with each job)"))
		}
	}
	info, err := validate.Bytes(j.Name, data, w.limits)
	if err != nil {
		return nil, err
	}
	if want, bound, crop := outputSize(s.Frame, info.Width, info.Height); crop && int64(bound)*int64(bound) > 4*w.limits.Resolved().MaxPixels ||
		!crop && int64(want.X)*int64(want.Y) > 4*w.limits.Resolved().MaxPixels {
		return nil, fmt.Errorf("%s: the framed cut-out would be too large for this worker's pixel cap", name)
	}
	out := s.output()
	if s.BgImageID != "" {
		if out.BgImage, err = w.background(ctx, s.BgImageID, fetch); err != nil {
			return nil, cluster.Later(err)
		}
	}
	r, err := w.eng.Cut(ctx, j.Name, data)
	data = nil
	if err != nil {
		err = fromEngine(j.Name, err)
		if temporary(err) {
			return nil, cluster.Later(err)
		}
		return nil, err
	}
	var img image.Image = r.Image
	if r.YCbCr != nil {
		img = r.YCbCr
	}
	encode, err := finishedImage(&Sink{Compression: s.level()}, img, r.Mask, nil, s.Matte, out, true)
	if err != nil {
		return nil, fmt.Errorf("%s: finishing the cut-out failed: %w", name, err)
	}
	var b bytes.Buffer
	if err := encode(&b); err != nil {
		return nil, fmt.Errorf("%s: encoding the %s failed: %w", name, strings.ToUpper(out.Ext()[1:]), err)
	}
	return b.Bytes(), nil
}

// background is the hub's background image, fetched, checked and decoded by the engine
// like any input (the last one is kept).
func (w *clusterWork) background(ctx context.Context, id string, fetch func(context.Context, string, int64) ([]byte, error)) (*image.NRGBA, error) {
	w.bgMu.Lock()
	defer w.bgMu.Unlock()
	if w.bgID == id {
		return w.bg, nil
	}
	data, err := fetch(ctx, "bg-"+id, w.limits.Resolved().MaxBytes)
	if err != nil {
		return nil, fmt.Errorf("the hub's background image could not be fetched: %s", quote.Text(err.Error()))
	}
	if !strings.HasPrefix(cluster.HashHex(data), id) {
		return nil, errors.New("the hub's background image in the store is not the one its settings name")
	}
	if _, err := validate.Bytes("background", data, w.limits); err != nil {
		return nil, fmt.Errorf("the hub's background image: %w", err)
	}
	r, err := w.eng.Cut(ctx, "background", data)
	if err != nil {
		return nil, fmt.Errorf("the hub's background image: %w", fromEngine("background", err))
	}
	w.bgID, w.bg = id, r.NRGBA()
	return w.bg, nil
}
