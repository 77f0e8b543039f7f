package infer

import (
	"image"
	"sync"
	"time"

	"cutout/engine/models"
)

// Timings are the per-stage durations of one Cut.
type Timings struct {
	Decode, Preprocess, Inference, Postprocess time.Duration
}

// Result is an upright decoded image, the model's prediction for it and (when made) its
// mask at the image's size. The image is Image, or YCbCr when CutImage was given a JPEG's
// Y′CbCr (then Image is nil).
type Result struct {
	Image   *image.NRGBA
	YCbCr   *image.YCbCr
	Pred    *Prediction
	Mask    *image.Gray
	Timings Timings
}

// Prediction is the model's raw output for one image: Side×Side values, row by row.
type Prediction struct {
	Side   int
	Values []float32
}

// Mask is the prediction as a w×h 8-bit mask (see Mask): the photo's size for the mask
// that is applied, a smaller one for a preview.
func (p *Prediction) Mask(w, h int) *image.Gray { return Mask(p.Values, p.Side, w, h) }

// NRGBA is the image as NRGBA: Image, or YCbCr converted (once; later calls return the same
// image).
func (r *Result) NRGBA() *image.NRGBA {
	if r.Image == nil && r.YCbCr != nil {
		r.Image, r.YCbCr = ToNRGBA(r.YCbCr), nil
	}
	return r.Image
}

// Engine turns image bytes into a mask with one shared session. Cut is safe for concurrent
// use: decoding and pre-processing of one image overlap the inference of another.
type Engine struct {
	Session *Session
	inputs  sync.Pool // *[]float32 of 3·S·S
}

// NewEngine loads verified model bytes into a session.
func NewEngine(m *models.Model, data []byte, opt SessionOptions) (*Engine, error) {
	s, err := NewSession(m, data, opt)
	if err != nil {
		return nil, err
	}
	n := s.Side() * s.Side()
	e := &Engine{Session: s}
	e.inputs.New = func() any { b := make([]float32, 3*n); return &b }
	return e, nil
}

// Cut decodes data and runs the model on it.
func (e *Engine) Cut(data []byte) (*Result, error) {
	t0 := time.Now()
	img, err := Decode(data)
	if err != nil {
		return nil, err
	}
	decode := time.Since(t0)
	r, err := e.CutImage(img)
	if err != nil {
		return nil, err
	}
	r.Timings.Decode = decode
	return r, nil
}

// CutImage runs the model on an already decoded, upright image (as DecodeImage returns) and
// makes its mask.
func (e *Engine) CutImage(img image.Image) (*Result, error) {
	r, err := e.Predict(img)
	if err != nil {
		return nil, err
	}
	r.MakeMask()
	return r, nil
}

// MakeMask makes r's mask at its image's size from its prediction (timed as Postprocess).
func (r *Result) MakeMask() {
	t := time.Now()
	var b image.Rectangle
	if r.YCbCr != nil {
		b = r.YCbCr.Rect
	} else {
		b = r.Image.Rect
	}
	r.Mask = r.Pred.Mask(b.Dx(), b.Dy())
	r.Timings.Postprocess = time.Since(t)
}

// Predict runs the model on an already decoded, upright image: the result holds the image
// and the prediction, not the mask.
func (e *Engine) Predict(img image.Image) (*Result, error) {
	var t Timings
	t0 := time.Now()
	in := e.inputs.Get().(*[]float32)
	defer e.inputs.Put(in)
	Preprocess(img, e.Session.Model, *in)
	t.Preprocess = time.Since(t0)
	n := e.Session.Side()
	out := make([]float32, n*n) // the result's: not pooled
	run, err := e.Session.RunTimed(*in, out)
	if err != nil {
		return nil, err
	}
	t.Inference = run
	r := &Result{Pred: &Prediction{Side: n, Values: out}, Timings: t}
	switch m := img.(type) {
	case *image.YCbCr:
		r.YCbCr = m
	case *image.NRGBA:
		r.Image = m
	default:
		r.Image = toNRGBA(img)
	}
	return r, nil
}

// Close releases the session.
func (e *Engine) Close() error { return e.Session.Close() }
