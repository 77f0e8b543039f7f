package infer

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"

	"cutout/engine/proto"
	"cutout/engine/validate"
)

// WorkerOptions configure Serve.
type WorkerOptions struct {
	// Concurrency is how many jobs run at once (default 2: one decodes while one infers).
	Concurrency int
	// BeforeJob, when set, sees each job before it is validated and may answer it instead
	// (a non-empty message fails the job with it). Only tests set it: they make the engine
	// misbehave on cue (hang, crash, try to escape its sandbox) from inside.
	BeforeJob func(*proto.Job) string
	// Device and Sandbox describe the engine in its hello frame.
	Device  string
	Sandbox []string
	// Warm runs the model once on a blank input right after the hello (Session.Warm), for
	// engines started ahead of their first image; the first job's run stops it.
	Warm bool
}

// Serve is the loop of `cutout engine`: it says hello, then reads jobs from r and writes one
// result or error frame per job to w, until r ends (nil) or breaks the protocol (an error:
// the process should exit). Untrusted bytes are re-validated here before decoding.
func Serve(r io.Reader, w io.Writer, e *Engine, opt WorkerOptions) error {
	var wmu sync.Mutex
	send := func(msg any) error {
		wmu.Lock()
		defer wmu.Unlock()
		return proto.Write(w, msg)
	}
	hello := &proto.Hello{Version: proto.Version, Model: e.Session.Model.Name, Runtime: Version(),
		Device: opt.Device, Sandbox: opt.Sandbox}
	if err := send(hello); err != nil {
		return err
	}
	if opt.Warm {
		go func() { _ = e.Session.Warm() }()
	}
	n := opt.Concurrency
	if n <= 0 {
		n = 2
	}
	slots := make(chan struct{}, n)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		f, err := proto.Read(r)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if f.Job == nil {
			return fmt.Errorf("%w: the app sent a frame that is not a job", proto.ErrMalformed)
		}
		job := f.Job
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			msg := runJob(e, job, opt.BeforeJob)
			big := false
			if r, ok := msg.(*proto.Result); ok {
				big = uint64(r.Width)*uint64(r.Height) >= BigResult
			}
			// A failed write means the app is gone; the read loop will see EOF.
			_ = send(msg)
			if big {
				// The image, its prediction and the frame are garbage now: collect them before
				// the next image's arrive, so that those land in these pages, not fresh ones.
				runtime.GC()
			}
		}()
	}
}

// BigResult is the size in pixels from which a job's memory is collected as soon as its
// result is done with (sent by the engine, written by the app), so that the next image's
// buffers reuse its pages instead of fresh ones.
const BigResult = 4e6

// runJob validates, decodes and cuts out one job, returning its result or error frame.
func runJob(e *Engine, j *proto.Job, before func(*proto.Job) string) any {
	if before != nil {
		if msg := before(j); msg != "" {
			return &proto.Error{ID: j.ID, Kind: proto.KindInternal, Message: j.Name + ": " + msg}
		}
	}
	lim := validate.Limits{MaxBytes: j.MaxBytes, MaxWidth: int(j.MaxWidth), MaxHeight: int(j.MaxHeight), MaxPixels: j.MaxPixels}
	if _, err := validate.Bytes(j.Name, j.Data, lim); err != nil {
		return &proto.Error{ID: j.ID, Kind: proto.KindInvalid, Message: err.Error()}
	}
	t0 := time.Now()
	img, err := DecodeImage(j.Data)
	if err != nil {
		return &proto.Error{ID: j.ID, Kind: proto.KindInvalid, Message: j.Name + ": " + err.Error()}
	}
	decode := time.Since(t0)
	j.Data = nil
	r, err := e.Predict(img)
	if err != nil {
		return &proto.Error{ID: j.ID, Kind: proto.KindInternal, Message: j.Name + ": " + err.Error()}
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	// The prediction goes back at the model's size (4 MB for a 1024 × 1024 model, where a
	// 12 MP mask is 12 MB): the app makes the mask at the size it needs.
	res := &proto.Result{ID: j.ID, Width: uint32(w), Height: uint32(h),
		Decode: decode, Preprocess: r.Timings.Preprocess, Inference: r.Timings.Inference,
		Side: uint32(r.Pred.Side), Pred: r.Pred.Values}
	if r.YCbCr != nil {
		// A JPEG stays in Y′CbCr on the way back: 1.5 bytes a pixel (4:2:0) instead of 4.
		res.Format = proto.FormatYCbCr + uint8(r.YCbCr.SubsampleRatio)
		res.PixParts = YCbCrPlanes(r.YCbCr)
	} else {
		res.Pix = r.Image.Pix[:4*w*h]
	}
	return res
}
