// Command benchworkers measures a hot folder served by workers on this machine: the same
// batch through a plain `cutout watch` (the baseline), then through a hub that only
// coordinates (`cutout watch --serve --workers-only`) and 1, 2 and 4 `cutout worker`
// processes sharing the cores (the inference threads split between them). It prints each
// run's throughput as a ratio to the baseline and the hub's own CPU time per image as a share
// of the workers'.
//
//	go run ./scripts/benchworkers -bin bin/cutout -n 24 -workers 1,2,4
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"image/png"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	bin := flag.String("bin", "bin/cutout", "the cutout binary")
	n := flag.Int("n", 24, "images in the batch (variants of the samples, each its own content)")
	counts := flag.String("workers", "1,2,4", "worker counts to run")
	samples := flag.String("samples", "assets/samples", "folder of photos")
	flag.Parse()
	if err := run(*bin, *samples, *n, *counts); err != nil {
		fmt.Fprintln(os.Stderr, "benchworkers:", err)
		os.Exit(1)
	}
}

// result is one run: its wall time and the CPU time of the hub and of the workers (each with
// its engine), in seconds.
type result struct {
	name           string
	wall, hub, wrk float64
}

func run(bin, samples string, n int, counts string) error {
	bin, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	batch, err := makeBatch(samples, n)
	if err != nil {
		return err
	}
	cores := runtime.NumCPU()
	fmt.Printf("%d images, %d cores\n", n, cores)
	base, err := runOnce(bin, batch, 0, cores)
	if err != nil {
		return err
	}
	results := []result{base}
	for _, c := range strings.Split(counts, ",") {
		k, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || k < 1 {
			return fmt.Errorf("worker count %q", c)
		}
		r, err := runOnce(bin, batch, k, cores)
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	// On a machine shared with other work the wall times follow its load as much as ours;
	// the CPU time per image does not.
	fmt.Printf("\n%-30s %7s %9s %9s %11s %9s %s\n", "run", "wall s", "images/s", "vs local", "CPU s/image", "vs local", "hub CPU per image")
	for _, r := range results {
		hub := "-"
		if r.name != base.name {
			hub = fmt.Sprintf("%.3f s, %.1f %% of the workers'", r.hub/float64(n), 100*r.hub/r.wrk)
		}
		cpu := (r.hub + r.wrk) / float64(n)
		fmt.Printf("%-30s %7.1f %9.2f %8.2fx %11.2f %8.2fx %s\n", r.name, r.wall, float64(n)/r.wall, base.wall/r.wall,
			cpu, (base.hub+base.wrk)/float64(n)/cpu, hub)
	}
	return nil
}

// runOnce cuts the batch out with k workers (0: a plain watch) and waits for every output.
func runOnce(bin string, batch map[string][]byte, k, cores int) (result, error) {
	dir, err := os.MkdirTemp("", "cutout-benchworkers-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	in, out := filepath.Join(dir, "in"), filepath.Join(dir, "out")
	os.MkdirAll(in, 0o755)
	threads := max(1, cores/max(k, 1))
	args := []string{"watch", in, out, "--settle", "100ms", "--rescan", "0"}
	name := fmt.Sprintf("local watch, %d threads", threads)
	var addr string
	if k > 0 {
		if addr, err = freeAddr(); err != nil {
			return result{}, err
		}
		args = append(args, "--serve", addr, "--workers-only", "--in-flight", strconv.Itoa(4*k))
		name = fmt.Sprintf("%d worker(s), %d thread(s) each", k, threads)
	} else {
		args = append(args, "--threads", strconv.Itoa(threads))
	}
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("== %s (load average before: %s)\n", name, strings.Join(strings.Fields(string(load))[:min(3, len(strings.Fields(string(load))))], " "))
	hub, hubLog, err := start(bin, args...)
	if err != nil {
		return result{}, err
	}
	procs := []*exec.Cmd{hub}
	defer func() {
		for _, p := range procs {
			p.Process.Signal(syscall.SIGTERM)
			p.Wait()
		}
	}()
	if err := hubLog.wait("watching ", time.Minute); err != nil {
		return result{}, err
	}
	var workers []*exec.Cmd
	for i := 0; i < k; i++ {
		w, log, err := start(bin, "worker", "nats://"+addr, "--token-file", filepath.Join(out, ".cutout-token"),
			"--threads", strconv.Itoa(threads), "--name", fmt.Sprintf("w%d", i+1))
		if err != nil {
			return result{}, err
		}
		procs, workers = append(procs, w), append(workers, w)
		if err := log.wait("taking jobs", 2*time.Minute); err != nil {
			return result{}, err
		}
	}
	time.Sleep(500 * time.Millisecond) // the engines' warm-up runs end
	hub0, wrk0 := treeCPU(hub), 0.0
	for _, w := range workers {
		wrk0 += treeCPU(w)
	}
	staging := filepath.Join(dir, "staging")
	os.MkdirAll(staging, 0o755)
	for name, data := range batch {
		if err := os.WriteFile(filepath.Join(staging, name), data, 0o644); err != nil {
			return result{}, err
		}
	}
	t0 := time.Now()
	for name := range batch {
		if err := os.Rename(filepath.Join(staging, name), filepath.Join(in, name)); err != nil {
			return result{}, err
		}
	}
	for deadline := time.Now().Add(30 * time.Minute); outputs(out) < len(batch); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			return result{}, fmt.Errorf("%s: only %d of %d outputs after 30 minutes", name, outputs(out), len(batch))
		}
	}
	r := result{name: name, wall: time.Since(t0).Seconds(), hub: treeCPU(hub) - hub0}
	for _, w := range workers {
		r.wrk += treeCPU(w)
	}
	r.wrk -= wrk0
	fmt.Printf("   %.1f s, hub CPU %.2f s, workers' CPU %.2f s\n", r.wall, r.hub, r.wrk)
	return r, nil
}

// makeBatch makes n images from the samples, each with one pixel changed: the same work,
// each its own content (a hub shares one job between inputs of identical content).
func makeBatch(samples string, n int) (map[string][]byte, error) {
	var photos []string
	for _, name := range []string{"coffee.png", "chelsea.png", "rocket.jpg", "astronaut.png"} {
		photos = append(photos, filepath.Join(samples, name))
	}
	batch := map[string][]byte{}
	for i := 0; i < n; i++ {
		p := photos[i%len(photos)]
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		img, _, err := image.Decode(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %v", p, err)
		}
		m := image.NewNRGBA(img.Bounds())
		draw.Draw(m, m.Rect, img, img.Bounds().Min, draw.Src)
		m.Pix[0], m.Pix[1] = uint8(i), uint8(i>>8)
		var b bytes.Buffer
		ext := filepath.Ext(p)
		if ext == ".jpg" {
			err = jpeg.Encode(&b, m, &jpeg.Options{Quality: 90})
		} else {
			err = png.Encode(&b, m)
		}
		if err != nil {
			return nil, err
		}
		batch[fmt.Sprintf("%03d-%s", i, filepath.Base(p))] = b.Bytes()
	}
	return batch, nil
}

// logWatch keeps a process's stderr and lets the caller wait for a line.
type logWatch struct {
	mu    sync.Mutex
	text  strings.Builder
	lines chan struct{}
}

func (l *logWatch) wait(s string, d time.Duration) error {
	deadline := time.After(d)
	for {
		l.mu.Lock()
		ok := strings.Contains(l.text.String(), s)
		text := l.text.String()
		l.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-l.lines:
		case <-deadline:
			return fmt.Errorf("no %q after %v:\n%s", s, d, text)
		}
	}
}

func start(bin string, args ...string) (*exec.Cmd, *logWatch, error) {
	cmd := exec.Command(bin, args...)
	r, err := cmd.StderrPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	l := &logWatch{lines: make(chan struct{}, 1)}
	go func() {
		s := bufio.NewScanner(r)
		for s.Scan() {
			l.mu.Lock()
			l.text.WriteString(s.Text() + "\n")
			l.mu.Unlock()
			select {
			case l.lines <- struct{}{}:
			default:
			}
		}
		io.Copy(io.Discard, r)
	}()
	return cmd, l, nil
}

// outputs counts the finished images in out (hidden folders left out).
func outputs(out string) int {
	n := 0
	filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && p != out && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".png") && !strings.HasPrefix(d.Name(), ".") {
			n++
		}
		return nil
	})
	return n
}

// treeCPU is the CPU time (user + system, s) of cmd's process and every process below it
// (a worker's engine), from /proc.
func treeCPU(cmd *exec.Cmd) float64 {
	parent := map[int]int{}
	ticks := map[int]float64{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:]) // fields from the state on
		if len(f) < 13 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		u, _ := strconv.ParseFloat(f[11], 64)
		st, _ := strconv.ParseFloat(f[12], 64)
		parent[pid], ticks[pid] = ppid, u+st
	}
	root := cmd.Process.Pid
	total := 0.0
	for pid, t := range ticks {
		for p := pid; p > 1; p = parent[p] {
			if p == root {
				total += t
				break
			}
		}
	}
	return total / 100 // USER_HZ
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
