package app

import (
	"context"
	"image/jpeg"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/disintegration/imaging"

	"cutout/engine/infer"
	"cutout/ui"
)

// BenchmarkFirstPreview12MP times what the window waits for between dropping a 12 MP photo
// and having its cut-out (validation, the trip to the engine, decode, pre-processing,
// inference, the trip back, the display copy the preview draws) on a warm engine, and
// reports it as a ratio to one bare inference of the same model (target ≤ 1.3). Each
// iteration runs one bare inference in this process and then one drop-to-preview, so that
// both see the machine in the same state; the ratio is of their medians.
func BenchmarkFirstPreview12MP(b *testing.B) {
	path := photo12MP(b)
	bare := bareSession(b)
	defer bare.Close()
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
	n := bare.Side() * bare.Side()
	in, out := make([]float32, 3*n), make([]float32, n)
	var bares, previews []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d, err := bare.RunTimed(in, out)
		if err != nil {
			b.Fatal(err)
		}
		bares = append(bares, d)
		t0 := time.Now()
		if _, _, err := ui.FirstPreview(context.Background(), be, path); err != nil {
			b.Fatal(err)
		}
		previews = append(previews, time.Since(t0))
	}
	b.StopTimer()
	mb, mp := median(bares), median(previews)
	b.ReportMetric(mp.Seconds()/mb.Seconds(), "x-bare")
	b.ReportMetric(mb.Seconds()*1000, "bare-ms")
	b.ReportMetric(mp.Seconds()*1000, "preview-ms")
}

// median is the middle of ds (the mean of the middle two for an even count).
func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
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

// bareSession is a session of the default model in this process, run twice to warm it.
func bareSession(b *testing.B) *infer.Session {
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
	n := sess.Side() * sess.Side()
	in, out := make([]float32, 3*n), make([]float32, n)
	for range 2 {
		if _, err := sess.RunTimed(in, out); err != nil {
			b.Fatal(err)
		}
	}
	return sess
}
