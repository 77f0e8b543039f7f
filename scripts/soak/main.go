// Command soak runs `cutout remove` over a large mixed batch — ordinary photos and a share of
// hostile files — while killing the engine from outside every few images, as a busy machine's
// OOM killer would, and checks the promise: every good file comes out exactly once, every
// hostile one fails with its reason, and the app's memory stays flat. It prints counts.
//
//	go run ./scripts/soak -bin bin/cutout -n 1000 -hostile 0.05 -kill-every 50
package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"hash/crc32"
	"image"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	bin := flag.String("bin", "bin/cutout", "the cutout binary")
	n := flag.Int("n", 1000, "files in the batch")
	hostile := flag.Float64("hostile", 0.05, "share of hostile files")
	killEvery := flag.Int("kill-every", 50, "kill the engine (SIGKILL) after this many finished images; 0: never")
	samples := flag.String("samples", "assets/samples", "folder of ordinary photos")
	keep := flag.Bool("keep", false, "keep the folders for a look afterwards")
	flag.Parse()
	if err := run(*bin, *samples, *n, *hostile, *killEvery, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

func run(bin, samples string, n int, hostile float64, killEvery int, keep bool) error {
	base, err := os.MkdirTemp("", "cutout-soak-")
	if err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(base)
	}
	in, out := filepath.Join(base, "in"), filepath.Join(base, "out")
	good, bad, err := makeBatch(in, samples, n, hostile)
	if err != nil {
		return err
	}
	fmt.Printf("batch: %d files (%d ordinary, %d hostile) in %s\n", n, len(good), len(bad), in)

	cmd := exec.Command(bin, "remove", in, "-o", out, "--timeout", "60s")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	var mem memory
	stopMem := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); mem.sample(cmd.Process.Pid, stopMem) }()

	kills, finished := 0, 0
	var summary []string
	sc := bufio.NewScanner(stderr)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "[") {
			finished++
			if killEvery > 0 && finished%killEvery == 0 && killEngine(cmd.Process.Pid) {
				kills++
			}
			continue
		}
		summary = append(summary, line)
	}
	err = cmd.Wait()
	close(stopMem)
	wg.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		return err
	}

	outputs, err := countOutputs(out)
	if err != nil {
		return err
	}
	missing, twice := 0, 0
	for _, g := range good {
		switch outputs[g] {
		case 0:
			missing++
		case 1:
		default:
			twice++
		}
	}
	stray := 0
	for _, b := range bad {
		stray += outputs[b]
	}
	failedLines := 0
	for _, l := range summary {
		if strings.HasPrefix(strings.TrimSpace(l), "failed:") {
			failedLines++
		}
	}
	fmt.Printf("finished in %s, exit status %d, engine killed %d times\n", time.Since(start).Round(time.Second), code, kills)
	fmt.Printf("ordinary: %d of %d out exactly once, %d missing, %d more than once\n", len(good)-missing-twice, len(good), missing, twice)
	fmt.Printf("hostile: %d failed with a reason, %d outputs written for them\n", failedLines, stray)
	fmt.Printf("app memory (RSS): at 10 %% %d MB, at half %d MB, last %d MB, peak %d MB\n", mem.at(0.1)>>20, mem.at(0.5)>>20, mem.last>>20, mem.peak>>20)
	for _, l := range summary {
		if !strings.HasPrefix(strings.TrimSpace(l), "failed:") {
			fmt.Println("  ", l)
		}
	}
	if missing > 0 || twice > 0 || stray > 0 || failedLines != len(bad) {
		return fmt.Errorf("the batch did not hold")
	}
	return nil
}

// makeBatch fills in with n files: copies of the sample photos (inputs are told apart by
// their paths) and a share of hostile files of several kinds. It
// returns the output names (relative to OUT) of the good ones and of the bad ones.
func makeBatch(in, samples string, n int, hostile float64) (good, bad []string, err error) {
	if err := os.MkdirAll(in, 0o755); err != nil {
		return nil, nil, err
	}
	var photos [][]byte
	var exts []string
	for _, name := range []string{"coffee.png", "chelsea.png", "rocket.jpg", "astronaut.png"} {
		b, err := os.ReadFile(filepath.Join(samples, name))
		if err != nil {
			return nil, nil, err
		}
		photos, exts = append(photos, b), append(exts, filepath.Ext(name))
	}
	every := 0
	if hostile > 0 {
		every = int(1 / hostile)
	}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("img%05d", i)
		if every > 0 && i%every == every-1 {
			ext, data := hostileFile(i / every)
			if err := os.WriteFile(filepath.Join(in, name+ext), data, 0o644); err != nil {
				return nil, nil, err
			}
			bad = append(bad, name+".png")
			continue
		}
		k := i % len(photos)
		if err := os.WriteFile(filepath.Join(in, name+exts[k]), photos[k], 0o644); err != nil {
			return nil, nil, err
		}
		good = append(good, name+".png")
	}
	return good, bad, nil
}

// hostileFile is the i-th hostile input: a text file posing as a PNG, an empty JPEG, a PNG
// whose header claims 100000 × 100000 pixels, a truncated PNG.
func hostileFile(i int) (string, []byte) {
	switch i % 4 {
	case 0:
		return ".png", []byte("<!doctype html><p>not an image")
	case 1:
		return ".jpg", nil
	case 2:
		return ".png", pngHeader(100000, 100000)
	default:
		var b bytes.Buffer
		png.Encode(&b, image.NewNRGBA(image.Rect(0, 0, 300, 200)))
		return ".png", b.Bytes()[:b.Len()/2]
	}
}

// pngHeader is a PNG signature and an IHDR chunk for w × h RGBA, nothing more.
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6
	binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	chunk := append([]byte("IHDR"), ihdr...)
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

// killEngine SIGKILLs the `cutout engine` child of pid, if one is running.
func killEngine(pid int) bool {
	// Each thread has its own list: Go starts the child from whichever thread it is on.
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var kids []byte
	for _, t := range tasks {
		b, _ := os.ReadFile(t)
		kids = append(append(kids, b...), ' ')
	}
	for _, f := range strings.Fields(string(kids)) {
		child, _ := strconv.Atoi(f)
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", child))
		if bytes.Contains(cmdline, []byte("engine")) && syscall.Kill(child, syscall.SIGKILL) == nil {
			return true
		}
	}
	return false
}

// countOutputs counts, per output name with its " (N)" removed, the PNGs in out.
func countOutputs(out string) (map[string]int, error) {
	entries, err := os.ReadDir(out)
	if err != nil {
		return nil, err
	}
	m := map[string]int{}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		if i := strings.Index(name, " ("); i > 0 {
			name = name[:i] + ".png"
		}
		m[name]++
	}
	return m, nil
}

// memory samples a process's resident set once a second.
type memory struct {
	mu         sync.Mutex
	last, peak int64
	all        []int64
}

func (m *memory) sample(pid int, stop <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		if rss := rssOf(pid); rss > 0 {
			m.mu.Lock()
			m.last, m.peak = rss, max(m.peak, rss)
			m.all = append(m.all, rss)
			m.mu.Unlock()
		}
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

// at is the resident set at the fraction f of the run.
func (m *memory) at(f float64) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.all) == 0 {
		return 0
	}
	return m.all[int(f*float64(len(m.all)-1))]
}

func rssOf(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, 1<<16))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
