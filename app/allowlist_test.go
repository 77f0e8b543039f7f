package app

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"

	"cutout/internal/fixture"
)

// TestAllowlistCoversRealRuns records, with strace, every system call a locked-down engine
// makes while it cuts out each input format at 0.25–24 MP, a sideways phone photo, after its
// warm-up, with both ISNet models — and fails on any call the allowlist refused. This is how
// engine/sandbox's allowlist was derived; CUTOUT_SECCOMP_REPORT=1 prints the whole table
// (scripts/seccomp-record.sh).
func TestAllowlistCoversRealRuns(t *testing.T) {
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Skip("strace is not installed (make test installs it)")
	}
	if testing.Short() {
		t.Skip("slow: several engines under strace")
	}
	inputs := allowlistInputs(t)
	calls, refused := map[string]int{}, map[string]int{}
	for _, model := range []string{"isnet-general-q8", "isnet-general"} {
		if _, err := os.Stat(filepath.Join(repoRoot(t), "models", model+".onnx")); err != nil {
			t.Logf("%s is not installed: not recorded", model)
			continue
		}
		log := filepath.Join(t.TempDir(), "strace.log")
		c := SupervisorConfig{Warm: true, command: []string{strace, "-f", "-qq", "-o", log, os.Args[0], "engine"}}
		c.Model = model
		s := testSupervisor(t, c)
		for _, in := range inputs {
			if model != "isnet-general-q8" && !strings.Contains(in.name, "MP") {
				continue // the second model: the sizes only
			}
			if _, err := s.Cut(context.Background(), in.name, in.data); err != nil {
				t.Fatalf("%s under strace: %v", in.name, err)
			}
		}
		s.Close()
		c2, r2 := afterLockdown(t, log)
		for k, v := range c2 {
			calls[k] += v
		}
		for k, v := range r2 {
			refused[k] += v
		}
	}
	names := make([]string, 0, len(calls))
	for k := range calls {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool { return calls[names[i]] > calls[names[j]] })
	var table strings.Builder
	for _, n := range names {
		fmt.Fprintf(&table, "%9d  %s", calls[n], n)
		if refused[n] > 0 {
			fmt.Fprintf(&table, "  REFUSED ×%d", refused[n])
		}
		table.WriteByte('\n')
	}
	if os.Getenv("CUTOUT_SECCOMP_REPORT") != "" {
		fmt.Print(table.String())
	}
	if len(refused) > 0 {
		t.Errorf("the allowlist refused calls of a real run:\n%s", table.String())
	}
	if calls["futex"] == 0 || calls["write"] == 0 {
		t.Errorf("nothing recorded after the lockdown:\n%s", table.String())
	}
}

type namedInput struct {
	name string
	data []byte
}

// allowlistInputs: the samples, every other format, a sideways phone photo and 2–24 MP.
func allowlistInputs(t *testing.T) []namedInput {
	var ins []namedInput
	for _, s := range []string{"astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg"} {
		ins = append(ins, namedInput{s, sample(t, s)})
	}
	src, err := png.Decode(bytes.NewReader(sample(t, "chelsea.png")))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	bmp.Encode(&b, src)
	ins = append(ins, namedInput{"chelsea.bmp", b.Bytes()})
	b = bytes.Buffer{}
	tiff.Encode(&b, src, &tiff.Options{Compression: tiff.Deflate})
	ins = append(ins, namedInput{"chelsea.tif", b.Bytes()})
	webp, err := os.ReadFile(filepath.Join(repoRoot(t), "engine", "validate", "testdata", "blue-purple-pink.lossy.webp"))
	if err != nil {
		t.Fatal(err)
	}
	ins = append(ins, namedInput{"pink.webp", webp})
	// HEIC and AVIF, decoded by libheif's threads: one image, a grid (a phone's 12 MP), alpha.
	for _, f := range []string{"coffee.heic", "coffee-grid.avif", "alpha.heic", "phone-12mp.heic"} {
		data, err := os.ReadFile(filepath.Join(repoRoot(t), "engine", "infer", "testdata", "heif", f))
		if err != nil {
			t.Fatal(err)
		}
		ins = append(ins, namedInput{f, data})
	}
	sideways, err := fixture.JPEGWithOrientation(src, 6)
	if err != nil {
		t.Fatal(err)
	}
	ins = append(ins, namedInput{"sideways.jpg", sideways})
	for _, mp := range []int{2, 12, 24} {
		w := intSqrt(mp * 1_000_000 * 4 / 3) // 4:3
		img := image.NewRGBA(image.Rect(0, 0, w, w*3/4))
		draw.Draw(img, img.Rect, image.NewUniform(src.At(100, 100)), image.Point{}, draw.Src)
		draw.Draw(img, src.Bounds().Add(image.Pt(w/3, w/4)), src, image.Point{}, draw.Src)
		b = bytes.Buffer{}
		jpeg.Encode(&b, img, &jpeg.Options{Quality: 85})
		ins = append(ins, namedInput{fmt.Sprintf("%dMP.jpg", mp), b.Bytes()})
	}
	return ins
}

func intSqrt(n int) int {
	r := 1
	for r*r < n {
		r++
	}
	return r
}

var (
	straceCall    = regexp.MustCompile(`^(\d+) +([a-z_0-9]+)\(`)
	straceResumed = regexp.MustCompile(`^(\d+) +<\.\.\. ([a-z_0-9]+) resumed>`)
	straceClone   = regexp.MustCompile(`^(\d+) +(?:<\.\.\. )?clone3?[ (].*= (\d+)$`)
	straceRefused = regexp.MustCompile(`= -1 (EPERM|ENOSYS) `)
)

// afterLockdown reads an strace -f log: the calls the engine's threads made after it
// installed its allowlist, and those refused (clone3's ENOSYS is by design: glibc then uses
// clone, whose flags the filter can check).
func afterLockdown(t *testing.T, log string) (calls, refused map[string]int) {
	f, err := os.Open(log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	calls, refused = map[string]int{}, map[string]int{}
	engine, locked := map[string]bool{}, false
	unfinished := map[string]string{} // a thread's call whose result strace writes later
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		m := straceCall.FindStringSubmatch(line)
		resumed := m == nil
		if resumed {
			m = straceResumed.FindStringSubmatch(line)
		}
		if m == nil {
			continue
		}
		pid, name := m[1], m[2]
		if name == "landlock_restrict_self" {
			engine[pid] = true
		}
		if name == "seccomp" && engine[pid] {
			locked = true
			continue
		}
		if !locked || !engine[pid] {
			continue
		}
		if c := straceClone.FindStringSubmatch(line); c != nil {
			engine[c[2]] = true // a thread started after the lockdown
		}
		whole := line
		if !resumed {
			calls[name]++
			if strings.HasSuffix(line, "<unfinished ...>") {
				unfinished[pid] = line // its result comes on a later line
			}
		} else {
			whole = unfinished[pid] + line
			delete(unfinished, pid)
		}
		if straceRefused.MatchString(line+" ") && !(name == "clone3" && strings.Contains(line, "ENOSYS")) && !natsSampler(name, whole) {
			refused[name]++
			if refused[name] <= 3 {
				t.Logf("refused: %s", line)
			}
		}
	}
	if !locked {
		data, _ := os.ReadFile(log)
		t.Fatalf("no lockdown in %s (%d bytes):\n%.3000s", log, len(data), data)
	}
	return calls, refused
}

// procStat matches an open of a process's /proc/PID/stat.
var procStat = regexp.MustCompile(`openat\([^,]*, "/proc/\d+/stat"`)

// natsSampler reports whether a refused call is the embedded NATS server's CPU sampler: its
// package starts, at program start, a timer that reads /proc/PID/stat every second, in every
// process of the binary, the engine too. In the locked-down engine that open is refused (and
// the sampler just has no figure); it is the one refusal expected.
func natsSampler(name, line string) bool {
	return name == "openat" && procStat.MatchString(line)
}
