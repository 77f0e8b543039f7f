package infer

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestWarm(t *testing.T) {
	e := realEngine(t)
	s := e.Session
	img, err := Decode(readFile(t, filepath.Join(repoRoot(t), "assets", "samples", "rocket.jpg")))
	if err != nil {
		t.Fatal(err)
	}
	n := s.Side() * s.Side()
	in := make([]float32, 3*n)
	Preprocess(img, s.Model, in)
	want := make([]float32, n)
	if err := s.Run(in, want); err != nil {
		t.Fatal(err)
	}

	// Alone, the warm-up runs to its end.
	if err := s.Warm(); err != nil {
		t.Fatalf("warm-up alone: %v", err)
	}

	// A real run that comes during a warm-up stops it and gets its own result.
	done := make(chan error, 1)
	go func() { done <- s.Warm() }()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		s.warmMu.Lock()
		started := s.warming != nil
		s.warmMu.Unlock()
		if started {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the warm-up did not start")
		}
	}
	got := make([]float32, n)
	if err := s.Run(in, got); err != nil {
		t.Fatalf("run during a warm-up: %v", err)
	}
	if err := <-done; !errors.Is(err, ErrWarmStopped) {
		t.Errorf("warm-up with a run coming: %v, want ErrWarmStopped", err)
	}
	if !slices.Equal(got, want) {
		t.Error("the run that stopped a warm-up gives another mask")
	}
	// The session goes on working after a stopped run.
	if err := s.Run(in, got); err != nil || !slices.Equal(got, want) {
		t.Errorf("run after a stopped warm-up: %v", err)
	}
}
