package app

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"cutout/engine/infer"
	"cutout/engine/proto"
)

// The engine process as the supervisor drives it: starting it, its read loop, one job's
// round trip, stopping it.

// worker is one engine process.
type worker struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	hello  *proto.Hello
	memory uint64
	stderr *tail

	wmu sync.Mutex // serialises frame writes

	pmu     sync.Mutex
	pending map[uint64]chan reply

	timedOut atomic.Bool
	done     chan struct{} // closed once the process is gone
	death    *deathError
}

type reply struct {
	result *proto.Result
	err    *proto.Error
}

func startWorker(ctx context.Context, c SupervisorConfig) (*worker, error) {
	w := &worker{memory: c.MemoryLimit, stderr: newTail(16 << 10),
		pending: map[uint64]chan reply{}, done: make(chan struct{})}
	cmd, stdout, err := w.spawn(c)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEngineStart, err)
	}
	w.cmd = cmd
	in := bufio.NewReaderSize(stdout, 1<<20)

	// The first frame is the hello, sent once the model is loaded and the engine confined.
	helloCh := make(chan error, 1)
	go func() {
		f, err := proto.Read(in)
		switch {
		case err != nil:
			helloCh <- err
		case f.Hello == nil:
			helloCh <- fmt.Errorf("%w: first frame is not a hello", proto.ErrMalformed)
		case f.Hello.Version != proto.Version:
			helloCh <- fmt.Errorf("engine speaks protocol %d, the app %d", f.Hello.Version, proto.Version)
		default:
			w.hello = f.Hello
			helloCh <- nil
		}
	}()
	timer := time.NewTimer(c.StartTimeout)
	defer timer.Stop()
	select {
	case err = <-helloCh:
	case <-timer.C:
		err = fmt.Errorf("the model did not load within %s", c.StartTimeout)
	case <-ctx.Done():
		err = context.Cause(ctx)
	}
	if err != nil {
		w.kill()
		cmd.Wait()
		if msg := lastLine(w.stderr.String()); msg != "" {
			return nil, fmt.Errorf("%w: %q", ErrEngineStart, strings.TrimPrefix(msg, "cutout engine: "))
		}
		return nil, fmt.Errorf("%w: %v", ErrEngineStart, err)
	}
	go w.readLoop(in)
	return w, nil
}

// readLoop delivers replies until the engine's output ends, then records why it died and
// fails every job still waiting.
func (w *worker) readLoop(in io.Reader) {
	var protoErr error
	for {
		f, err := proto.Read(in)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				protoErr = err
			}
			break
		}
		var id uint64
		var r reply
		switch {
		case f.Result != nil:
			id, r.result = f.Result.ID, f.Result
		case f.Error != nil:
			id, r.err = f.Error.ID, f.Error
		default:
			protoErr = fmt.Errorf("%w: unexpected frame", proto.ErrMalformed)
		}
		if protoErr != nil {
			break
		}
		w.pmu.Lock()
		ch, ok := w.pending[id]
		delete(w.pending, id)
		w.pmu.Unlock()
		if ok {
			ch <- r
		}
	}
	if protoErr != nil {
		// A broken protocol means the engine cannot be trusted any more.
		w.cmd.Process.Kill()
	}
	w.stdin.Close()
	waitErr := w.cmd.Wait()
	w.death = w.explain(waitErr, protoErr)
	close(w.done)
}

// do sends one job and waits for its reply, the engine's death, the timeout or ctx.
func (w *worker) do(ctx context.Context, j *proto.Job, timeout time.Duration) (*infer.Result, error) {
	ch := make(chan reply, 1)
	w.pmu.Lock()
	w.pending[j.ID] = ch
	w.pmu.Unlock()
	forget := func() {
		w.pmu.Lock()
		delete(w.pending, j.ID)
		w.pmu.Unlock()
	}
	w.wmu.Lock()
	err := proto.Write(w.stdin, j)
	w.wmu.Unlock()
	if err != nil {
		forget()
		<-w.done // the write failed because the engine is gone
		return nil, w.death
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case r := <-ch:
		return toResult(r, j)
	case <-w.done:
		forget()
		return nil, w.death
	case <-timer.C:
		forget()
		w.timedOut.Store(true)
		w.kill()
		<-w.done
		return nil, &deathError{reason: fmt.Sprintf("the engine took longer than %s on this image and was stopped", timeout),
			kind: ErrEngineTimeout, timedOut: true}
	case <-ctx.Done():
		// The engine finishes the job on its own; its reply is dropped.
		forget()
		return nil, context.Cause(ctx)
	}
}

func toResult(r reply, j *proto.Job) (*infer.Result, error) {
	if r.err != nil {
		return nil, &remoteError{msg: r.err.Message, invalid: r.err.Kind == proto.KindInvalid}
	}
	res := r.result
	w, h := int(res.Width), int(res.Height)
	if int64(w)*int64(h) > j.MaxPixels || w > int(j.MaxWidth) || h > int(j.MaxHeight) {
		return nil, fmt.Errorf("the engine returned a %d × %d image, over the limits", w, h)
	}
	rect := image.Rect(0, 0, w, h)
	out := &infer.Result{
		Pred: &infer.Prediction{Side: int(res.Side), Values: res.Pred},
		Timings: infer.Timings{Decode: res.Decode, Preprocess: res.Preprocess,
			Inference: res.Inference},
	}
	if res.Format == proto.FormatNRGBA {
		out.Image = &image.NRGBA{Pix: res.Pix, Stride: 4 * w, Rect: rect}
		return out, nil
	}
	// A JPEG comes back in its Y′CbCr planes (the protocol checked their sizes) and stays so:
	// the batch composites straight from them, the window converts (Result.NRGBA).
	out.YCbCr = infer.UnpackYCbCr(res.Pix, w, h, image.YCbCrSubsampleRatio(res.Format-proto.FormatYCbCr))
	return out, nil
}

// kill ends the process group (the engine and anything it started).
func (w *worker) kill() {
	_ = syscall.Kill(-w.cmd.Process.Pid, syscall.SIGKILL)
	_ = w.cmd.Process.Kill()
}

// stop closes the engine's input so it exits on its own, killing it if it lingers.
func (w *worker) stop() {
	w.wmu.Lock()
	w.stdin.Close()
	w.wmu.Unlock()
	select {
	case <-w.done:
	case <-time.After(5 * time.Second):
		w.kill()
		<-w.done
	}
}
