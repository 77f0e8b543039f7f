package app

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"cutout/engine/infer"
	"cutout/internal/quote"
)

// killedRetries is how often a job runs alone on a fresh engine when the engine keeps being
// killed from outside, before it fails as not its own fault (ErrEngineKilled).
const killedRetries = 3

// cut runs one job (Predict; timeout > 0 is a job timeout of its own) so that it fails only
// for its own reason. Up to inFlight jobs share the engine. When the engine dies, or is
// stopped for a job that took too long, every job that was in it is run again alone, one at a
// time, on a fresh engine before anyone is blamed: a job that kills an engine alone, runs out
// of memory alone or takes too long alone is the culprit, and fails with that reason; the
// others come out. An engine killed from outside (SIGKILL that the supervisor did not send)
// is nobody's fault: the job is run alone again, with the supervisor's restart backoff, and
// after killedRetries such deaths fails with ErrEngineKilled, which callers retry later.
func (s *Supervisor) cut(ctx context.Context, name string, data []byte, timeout time.Duration) (*infer.Result, error) {
	if timeout <= 0 {
		timeout = s.cfg.JobTimeout
	}
	base := filepath.Base(name)
	r, err := s.attempt(ctx, base, data, timeout, false)
	var dead *deathError
	for killed := 0; errors.As(err, &dead); {
		if dead.external {
			killed++
			if killed >= killedRetries {
				break
			}
		}
		fmt.Fprintf(s.cfg.Log, "engine: %v; running %s again on its own\n", dead, quote.Name(base))
		r, err = s.attempt(ctx, base, data, timeout, true)
		if errors.As(err, &dead) && !dead.external {
			break // it failed alone: its own failure
		}
	}
	return r, err
}

// attempt runs the job once: sharing the engine, or solo (no other job in the engine).
func (s *Supervisor) attempt(ctx context.Context, base string, data []byte, timeout time.Duration, solo bool) (*infer.Result, error) {
	release, err := s.acquire(ctx, solo)
	if err != nil {
		return nil, err
	}
	defer release()
	w, err := s.worker(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", base, err)
	}
	r, err := w.do(ctx, s.job(base, data), timeout)
	if err == nil {
		s.mu.Lock()
		s.backoff = 0
		s.mu.Unlock()
		return r, nil
	}
	var remote *remoteError
	if errors.As(err, &remote) {
		return nil, err // the engine's message already names the file
	}
	return nil, fmt.Errorf("%s: %w", base, err)
}

// acquire takes one of the engine's inFlight places, or (solo) all of them, one solo job at
// a time; release gives them back.
func (s *Supervisor) acquire(ctx context.Context, solo bool) (release func(), err error) {
	n := 1
	if solo {
		select {
		case s.solo <- struct{}{}:
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
		n = inFlight
	}
	taken := 0
	release = func() {
		for ; taken > 0; taken-- {
			<-s.slots
		}
		if solo {
			<-s.solo
		}
	}
	for taken < n {
		select {
		case s.slots <- struct{}{}:
			taken++
		case <-ctx.Done():
			release()
			return nil, context.Cause(ctx)
		}
	}
	return release, nil
}
