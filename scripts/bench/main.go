// Command bench measures Cutout's whole pipeline (`make bench`): images per second, the
// per-stage times, peak RSS, and the bare ONNX Runtime Run time of the same model, with the
// ratio pipeline/bare, on the sample photos and on synthetic 12 MP JPEGs made from them.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/disintegration/imaging"

	_ "cutout/internal/localefix" // before Fyne (imported by app) reads the locale

	"cutout/app"
	"cutout/engine/matte"
	"cutout/engine/validate"
	"cutout/scripts/internal/benchkit"
)

func main() {
	model := flag.String("model", "", "model name (default: the manifest's default)")
	n12 := flag.Int("n12", 6, "how many 12 MP images to run")
	bareRuns := flag.Int("bare", 4, "how many bare session.Run calls to time")
	bareOnly := flag.Bool("bare-only", false, "internal: time the bare session in this process and print ns")
	tune := flag.String("tune", "", "internal: session settings for -bare-only (see sweep.go)")
	sweepFlag := flag.Bool("sweep", false, "time the bare model under each ONNX Runtime setting in sweep.go, one process each")
	sweepOnly := flag.String("sweep-only", "", "with -sweep: only the settings whose name contains this")
	profile := flag.Bool("profile", false, "profile the bare model with ONNX Runtime's profiler and print the costliest operators")
	samples := flag.String("samples", "assets/samples", "folder of sample photos")
	bin := flag.String("bin", "bin/cutout", "the cutout binary, run as the engine")
	flag.Parse()
	if *bareOnly {
		d, err := bareRun(*model, *bareRuns, *tune)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		fmt.Println(d.Run.Nanoseconds(), app.PeakRSS(0), d.Create.Nanoseconds(), d.First.Nanoseconds())
		return
	}
	if *sweepFlag {
		if err := sweep(*model, *bareRuns, *sweepOnly); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if *profile {
		if err := profileModel(*model); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*bin, *model, *samples, *n12, *bareRuns); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(bin, model, samples string, n12, bareRuns int) error {
	tmp, err := os.MkdirTemp("", "cutout-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	var small []string
	entries, _ := filepath.Glob(filepath.Join(samples, "*"))
	for _, e := range entries {
		if !strings.HasSuffix(e, ".md") {
			small = append(small, e)
		}
	}
	if len(small) == 0 {
		return fmt.Errorf("no samples in %s", samples)
	}
	big, err := make12MP(small, tmp, n12)
	if err != nil {
		return err
	}

	// The bare model runs in a process of its own, so its memory is not counted below.
	outb, err := exec.Command(os.Args[0], "-bare-only", "-model", model, "-bare", strconv.Itoa(bareRuns)).Output()
	if err != nil {
		return fmt.Errorf("bare run: %w", err)
	}
	ns, err := strconv.ParseInt(strings.Fields(string(outb) + " x")[0], 10, 64)
	if err != nil {
		return fmt.Errorf("bare run printed %q", outb)
	}
	bare := time.Duration(ns)

	eng, err := app.NewEngine(context.Background(), app.SupervisorConfig{EngineConfig: app.EngineConfig{Model: model}, Binary: bin})
	if err != nil {
		return err
	}
	sup := eng.(*app.Supervisor)
	defer sup.Close()
	fmt.Printf("Cutout pipeline benchmark — model %s; engine: %s\n\n", sup.Model(), sup.Sandbox())
	fmt.Printf("bare session.Run (same model, same threads, own process): %.0f ms/image (%.3f images/s)\n\n", ms(bare), 1/bare.Seconds())

	for _, set := range []struct {
		name  string
		files []string
	}{{"samples (0.2-0.3 MP)", small}, {"12 MP JPEG", big}} {
		if err := pipeline(eng, set.name, set.files, filepath.Join(tmp, "out"), bare); err != nil {
			return err
		}
	}
	self, engine := app.PeakRSS(0), sup.EnginePeakRSS()
	fmt.Printf("peak RSS: app %.0f MB + engine %.0f MB = %.0f MB (process tree, upper bound)\n",
		float64(self)/1e6, float64(engine)/1e6, float64(self+engine)/1e6)
	return nil
}

// make12MP writes n 4000×3000 JPEGs, each an upscaled sample.
func make12MP(samples []string, dir string, n int) ([]string, error) {
	var out []string
	for i := 0; i < n; i++ {
		src, err := imaging.Open(samples[i%len(samples)], imaging.AutoOrientation(true))
		if err != nil {
			return nil, err
		}
		img := imaging.Resize(src, 4000, 3000, imaging.Linear)
		p := filepath.Join(dir, fmt.Sprintf("big%02d.jpg", i))
		f, err := os.Create(p)
		if err != nil {
			return nil, err
		}
		w := bufio.NewWriter(f)
		if err := jpeg.Encode(w, img, &jpeg.Options{Quality: 90}); err != nil {
			return nil, err
		}
		w.Flush()
		f.Close()
		out = append(out, p)
	}
	return out, nil
}

// bareRun times session.Run alone with the settings of sweep.go's tuning named tune ("" =
// Cutout's own).
func bareRun(model string, runs int, tune string) (benchkit.Bare, error) {
	t, err := findTuning(tune)
	if err != nil {
		return benchkit.Bare{}, err
	}
	return benchkit.BareRun(model, runs, t.concurrent, t.threads, t.apply)
}

func pipeline(eng app.Engine, name string, files []string, out string, bare time.Duration) error {
	os.RemoveAll(out)
	p := &app.Processor{
		Engine: eng, Limits: validate.DefaultLimits(), Matte: matte.DefaultOptions(),
		Sink: &app.Sink{Compression: png.BestSpeed, Overwrite: true}, OutDir: out, Workers: 2,
	}
	// Warm up on the first file so that one-time costs are not counted.
	if o := p.Process(context.Background(), app.Job{Path: files[0], Rel: "warm.png"}); o.Err != nil {
		return o.Err
	}
	jobs := make(chan app.Job, len(files))
	for i, f := range files {
		jobs <- app.Job{Path: f, Rel: fmt.Sprintf("%03d.png", i)}
	}
	close(jobs)
	var outs []app.Outcome
	start := time.Now()
	p.Run(context.Background(), jobs, p.Process, func(o app.Outcome) { outs = append(outs, o) })
	wall := time.Since(start)
	var sum app.StageTimes
	for _, o := range outs {
		if o.Err != nil {
			return o.Err
		}
		t := o.Times
		sum.Read += t.Read
		sum.Decode += t.Decode
		sum.Preprocess += t.Preprocess
		sum.Inference += t.Inference
		sum.Postprocess += t.Postprocess
		sum.Finish += t.Finish
		sum.Encode += t.Encode
		sum.Write += t.Write
	}
	k := float64(len(outs))
	rate := k / wall.Seconds()
	fmt.Printf("%s: %d images in %.1f s: %.3f images/s; pipeline/bare = %.2f\n", name, len(outs), wall.Seconds(), rate, rate*bare.Seconds())
	fmt.Printf("  per image, ms: read %.0f  decode %.0f  pre-process %.0f  inference %.0f  post-process %.0f  finish %.0f  encode %.0f  write %.0f\n\n",
		ms(sum.Read)/k, ms(sum.Decode)/k, ms(sum.Preprocess)/k, ms(sum.Inference)/k, ms(sum.Postprocess)/k, ms(sum.Finish)/k, ms(sum.Encode)/k, ms(sum.Write)/k)
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
