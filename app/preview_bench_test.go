package app

import (
	"context"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/disintegration/imaging"

	"cutout/engine/infer"
	"cutout/ui"
)

// BenchmarkFirstPreview12MP times what the window waits for between dropping a 12 MP photo
// and having its cut-out (validation, the trip to the engine, decode, pre-processing,
// inference, the trip back, the display copy the preview draws) on a warm engine, and
// reports it as a ratio to one bare inference of the same model (target ≤ 1.3).
func BenchmarkFirstPreview12MP(b *testing.B) {
	path := photo12MP(b)

	// The bare run first, alone on the machine: the engine started below would share it.
	bare := bareInference(b)
	be := newBackend(SupervisorConfig{command: []string{os.Args[0], "engine"}})
	s := be.Defaults()
	s.Model = "isnet-general-q8"
	if err := be.Apply(s); err != nil {
		b.Fatal(err)
	}
	defer be.Close()
	if _, _, err := ui.FirstPreview(context.Background(), be, path); err != nil { // warm
		b.Fatal(err)
	}

	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, _, err := ui.FirstPreview(context.Background(), be, path); err != nil {
			b.Fatal(err)
		}
	}
	per := time.Since(start) / time.Duration(b.N)
	b.ReportMetric(per.Seconds()/bare.Seconds(), "x-bare")
	b.ReportMetric(bare.Seconds()*1000, "bare-ms")
}

// BenchmarkFirstCutAfterStart12MP times the first cut of a 12 MP photo by an engine started
// a few seconds earlier, as the window starts it: cold (the session's first run pays for its
// allocations) and warm (SupervisorConfig.Warm made them while the engine waited).
func BenchmarkFirstCutAfterStart12MP(b *testing.B) {
	path := photo12MP(b)
	for _, warm := range []bool{false, true} {
		name := "cold"
		if warm {
			name = "warm"
		}
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				s, err := NewSupervisor(SupervisorConfig{EngineConfig: EngineConfig{Model: "isnet-general-q8"},
					command: []string{os.Args[0], "engine"}, Warm: warm})
				if err != nil {
					b.Fatal(err)
				}
				if err := s.Start(context.Background()); err != nil {
					b.Fatal(err)
				}
				data, err := os.ReadFile(path)
				if err != nil {
					b.Fatal(err)
				}
				time.Sleep(5 * time.Second) // the user finds a photo; a warm-up ends
				b.StartTimer()
				if _, err := s.Cut(context.Background(), path, data); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				s.Close()
			}
		})
	}
}

// photo12MP writes a 12 MP JPEG made from a sample and returns its path.
func photo12MP(b *testing.B) string {
	b.Helper()
	src, err := imaging.Open(filepath.Join(repoRoot(b), "assets", "samples", "astronaut.png"))
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "big.jpg")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := jpeg.Encode(f, imaging.Resize(src, 4000, 3000, imaging.Linear), &jpeg.Options{Quality: 90}); err != nil {
		b.Fatal(err)
	}
	return path
}

// bareInference is one session.Run of the default model in this process (after a warm-up).
func bareInference(b *testing.B) time.Duration {
	b.Helper()
	if err := infer.Init(""); err != nil {
		b.Fatal(err)
	}
	m, data, err := EngineConfig{Model: "isnet-general-q8"}.LoadModel()
	if err != nil {
		b.Fatal(err)
	}
	sess, err := infer.NewSession(m, data, infer.SessionOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer sess.Close()
	n := sess.Side() * sess.Side()
	in, out := make([]float32, 3*n), make([]float32, n)
	var best time.Duration
	for i := 0; i < 3; i++ {
		d, err := sess.RunTimed(in, out)
		if err != nil {
			b.Fatal(err)
		}
		if i == 1 || (i > 1 && d < best) {
			best = d
		}
	}
	return best
}
