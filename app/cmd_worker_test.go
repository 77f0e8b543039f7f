package app

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"cutout/app/cluster"
	"cutout/internal/testenv"
)

// TestWorkerHelperProcess is not a test: it is `cutout worker` in a child process, for the
// tests below (the os/exec helper-process pattern).
func TestWorkerHelperProcess(t *testing.T) {
	args := os.Getenv("CUTOUT_WORKER_HELPER")
	if args == "" {
		t.Skip("helper process")
	}
	os.Exit(cmdWorker(strings.Split(args, "\n"), os.Stdout, os.Stderr))
}

// startWorkerProcess runs `cutout worker ARGS` in a child process, its output prefixed in log.
func startWorkerProcess(t *testing.T, log io.Writer, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestWorkerHelperProcess$")
	cmd.Env = append(os.Environ(), "CUTOUT_WORKER_HELPER="+strings.Join(args, "\n"))
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	return cmd
}

// queueServer is an embedded server in the test process that can be stopped and started
// again on the same address and store.
type queueServer struct {
	t              *testing.T
	addr, dir, tok string
	mu             sync.Mutex
	s              *cluster.Server
	tokenFile, url string
}

func newQueueServer(t *testing.T) *queueServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	q := &queueServer{t: t, addr: addr, dir: t.TempDir(), tok: "test-token-0123456789", url: "nats://" + addr}
	q.tokenFile = filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(q.tokenFile, []byte(q.tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	q.start()
	t.Cleanup(q.stop)
	return q
}

func (q *queueServer) start() {
	q.t.Helper()
	s, err := cluster.Serve(cluster.ServerConfig{Addr: q.addr, Token: q.tok, StoreDir: q.dir})
	if err != nil {
		q.t.Fatal(err)
	}
	q.mu.Lock()
	q.s = s
	q.mu.Unlock()
}

func (q *queueServer) stop() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.s != nil {
		q.s.Close()
		q.s = nil
	}
}

// startHub runs `cutout watch ARGS` (with --serve or --queue) in this process until the
// returned stop is called or the test ends; stop returns the exit code.
func startHub(t *testing.T, log io.Writer, args ...string) (stop func() int) {
	t.Helper()
	c, code := parseWatch(args, log)
	if c == nil || c.cluster == nil {
		t.Fatalf("cutout watch %v: usage error %d", args, code)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- c.runCluster(ctx, log) }()
	var once sync.Once
	var exit int
	stop = func() int {
		once.Do(func() {
			cancel()
			exit = <-done
		})
		return exit
	}
	t.Cleanup(func() { stop() })
	return stop
}

// TestWorkersAcrossFailures: a hub that only coordinates and two workers (separate processes,
// the real engine) cut out 30 files while one worker is killed with SIGKILL, the hub is
// stopped and started again, and the queue server is restarted. Every photo comes out exactly
// once, as a valid PNG of its size, with no " (1)" duplicate; the crash bomb fails alone, with
// a note.
func TestWorkersAcrossFailures(t *testing.T) {
	testenv.NeedEngine(t)
	q := newQueueServer(t)
	base := t.TempDir()
	in, out, staging := filepath.Join(base, "in"), filepath.Join(base, "out"), filepath.Join(base, "staging")
	os.Mkdir(in, 0o755)
	samples := []string{"coffee.png", "chelsea.png", "rocket.jpg", "astronaut.png"}
	var photos []string
	sizes := map[string]image.Point{}
	os.Mkdir(staging, 0o755)
	for i := 0; i < 29; i++ {
		s := samples[i%len(samples)]
		name := fmt.Sprintf("%02d-%s", i, s)
		// Each its own content (one pixel differs), but for the last two: copies of files 3
		// and 4, whose jobs they may share.
		n := i
		if i >= 27 {
			n = i - 24 // the same sample as file n
		}
		data, size := variant(t, s, n)
		if err := os.WriteFile(filepath.Join(staging, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		photos = append(photos, name)
		sizes[strings.TrimSuffix(name, filepath.Ext(name))+".png"] = size
	}
	const bomb = "hook:crash.png"
	copySample(t, "coffee.png", filepath.Join(staging, bomb))

	log := &syncBuffer{}
	worker := func(name string) *exec.Cmd {
		return startWorkerProcess(t, prefixed(log, name), q.url, "--token-file", q.tokenFile, "--name", name,
			"--model", "isnet-general-q8", "--threads", "1", "--timeout", "30s")
	}
	hubArgs := []string{in, out, "--queue", q.url, "--token-file", q.tokenFile, "--workers-only", "--settle", "200ms",
		"--grace", "1s", "--ack-wait", "3s", "--model", "isnet-general-q8"}
	w1 := worker("w1")
	worker("w2")
	stopHub := startHub(t, prefixed(log, "hub"), hubArgs...)
	start := time.Now()
	for _, name := range append(slices.Clone(photos), bomb) {
		if err := os.Rename(filepath.Join(staging, name), filepath.Join(in, name)); err != nil {
			t.Fatal(err)
		}
	}
	outcomes := func() int {
		_, done, failed := journal(t, out)
		return len(done) + len(failed)
	}
	waitUntil(t, "5 outcomes", func() bool { return outcomes() >= 5 })
	w1.Process.Kill() // mid-job: it holds two
	t.Logf("%.1fs: w1 killed with %d outcomes", time.Since(start).Seconds(), outcomes())
	worker("w3")

	waitUntil(t, "12 outcomes", func() bool { return outcomes() >= 12 })
	if code := stopHub(); code != 0 {
		t.Errorf("the hub stopped with %d", code)
	}
	t.Logf("%.1fs: hub stopped with %d outcomes", time.Since(start).Seconds(), outcomes())
	time.Sleep(time.Second) // the workers go on meanwhile
	stopHub = startHub(t, prefixed(log, "hub2"), hubArgs...)

	waitUntil(t, "20 outcomes", func() bool { return outcomes() >= 20 })
	q.stop()
	t.Logf("%.1fs: queue server stopped with %d outcomes", time.Since(start).Seconds(), outcomes())
	time.Sleep(time.Second)
	q.start()

	waitUntil(t, "every outcome", func() bool { return outcomes() == len(photos)+1 })
	t.Logf("%.1fs: all %d outcomes", time.Since(start).Seconds(), outcomes())
	if code := stopHub(); code != 0 {
		t.Errorf("the hub stopped with %d", code)
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("log:\n%s", log.String())
	}

	_, done, failed := journal(t, out)
	for _, name := range photos {
		if done[name] != 1 || failed[name] != 0 {
			t.Errorf("%s: %d done records, %d failed", name, done[name], failed[name])
		}
	}
	if failed[bomb] != 1 || done[bomb] != 0 {
		t.Errorf("the bomb: %d failed records, %d done", failed[bomb], done[bomb])
	}
	note, err := os.ReadFile(filepath.Join(out, ".cutout-failed", bomb+".txt"))
	if err != nil || !strings.Contains(string(note), "crashed") {
		t.Errorf("the bomb's note: %q, %v", note, err)
	}
	var want []string
	for _, name := range photos {
		want = append(want, strings.TrimSuffix(name, filepath.Ext(name))+".png")
	}
	slices.Sort(want)
	if got := pngsIn(t, out); !slices.Equal(got, want) {
		t.Fatalf("outputs %v, want %v", got, want)
	}
	for _, p := range want {
		if b := decodePNG(t, filepath.Join(out, p)).Bounds(); b.Size() != sizes[p] {
			t.Errorf("%s is %v, its input %v", p, b.Size(), sizes[p])
		}
	}
	if left := tempsIn(out); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestHubServesAndWorksLocally: `cutout watch --serve` with no worker but itself makes its
// token (mode 0600), says how workers join, and cuts out with its own engine, the background
// image coming through the store; --once exits 0.
func TestHubServesAndWorksLocally(t *testing.T) {
	testenv.NeedEngine(t)
	base := t.TempDir()
	in, out := filepath.Join(base, "in"), filepath.Join(base, "out")
	for _, s := range []string{"coffee.png", "rocket.jpg"} {
		copySample(t, s, filepath.Join(in, s))
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	var log syncBuffer
	bg := filepath.Join(base, "bg.png")
	copySample(t, "chelsea.png", bg) // travels to the worker through the store, decoded there
	c, code := parseWatch([]string{in, out, "--serve", addr, "--once", "--settle", "100ms", "--model", "isnet-general-q8", "--bg-image", bg}, &log)
	if c == nil {
		t.Fatalf("usage error %d", code)
	}
	if code := c.runCluster(context.Background(), &log); code != 0 {
		t.Fatalf("exit %d:\n%s", code, log.String())
	}
	t.Log(log.String())
	fi, err := os.Stat(filepath.Join(out, ".cutout-token"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the token file: %v, %v", fi, err)
	}
	if !strings.Contains(log.String(), "cutout worker nats://"+addr+" --token-file") {
		t.Errorf("no word on how workers join")
	}
	for _, name := range []string{"coffee.png", "rocket.png"} {
		img := decodePNG(t, filepath.Join(out, name))
		if _, _, _, a := img.At(0, 0).RGBA(); a != 0xffff {
			t.Errorf("%s: the corner is not the background image's (alpha %d)", name, a)
		}
	}
}

// TestWorkerWrongToken: a worker with another token exits 1 at once, saying so.
func TestWorkerWrongToken(t *testing.T) {
	q := newQueueServer(t)
	wrong := filepath.Join(t.TempDir(), "wrong")
	os.WriteFile(wrong, []byte("not-the-token\n"), 0o600)
	var stderr bytes.Buffer
	code := cmdWorker([]string{q.url, "--token-file", wrong}, io.Discard, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "refused the token") || !strings.Contains(stderr.String(), "wrong") {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var hub syncBuffer
	c, _ := parseWatch([]string{t.TempDir(), t.TempDir(), "--queue", q.url, "--token-file", wrong}, &hub)
	if code := c.runCluster(context.Background(), &hub); code != 1 || !strings.Contains(hub.String(), "refused the token") {
		t.Fatalf("a hub with the wrong token: exit %d: %s", code, hub.String())
	}
}

// variant is a sample made another content without touching its pixels: a PNG gets a text
// chunk after its header, a JPEG a comment after its start marker, both holding n.
func variant(t *testing.T, name string, n int) ([]byte, image.Point) {
	t.Helper()
	data := sample(t, name)
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	text := []byte(fmt.Sprintf("variant %d", n))
	var b bytes.Buffer
	if strings.HasSuffix(name, ".jpg") {
		b.Write(data[:2]) // SOI
		b.Write([]byte{0xff, 0xfe, 0, byte(len(text) + 2)})
		b.Write(text)
		b.Write(data[2:])
	} else {
		const ihdrEnd = 8 + 8 + 13 + 4 // signature, IHDR's length and type, its data, its CRC
		b.Write(data[:ihdrEnd])
		chunk := append([]byte("tEXt"), append([]byte("Comment\x00"), text...)...)
		binary.Write(&b, binary.BigEndian, uint32(len(chunk)-4))
		b.Write(chunk)
		binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
		b.Write(data[ihdrEnd:])
	}
	return b.Bytes(), image.Pt(cfg.Width, cfg.Height)
}

// prefixed writes each line to w with a name before it.
func prefixed(w io.Writer, name string) io.Writer {
	return &prefixWriter{w: w, prefix: name + ": "}
}

type prefixWriter struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		p.w.Write(append([]byte(p.prefix), p.buf[:i+1]...))
		p.buf = p.buf[i+1:]
	}
}
