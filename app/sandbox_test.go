package app

import (
	"context"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestEngineEscapesFail acts as a compromised engine: after full confinement the engine
// (engineTestHook "escape") tries every escape of DESIGN's list — files, every socket family,
// fork, signals and ptrace of the app, the app's namespaces, TIOCSTI on the terminal it was
// handed, descriptors the app inherited — and every one must fail, with nothing arriving at
// any target; a real model run afterwards still gives the golden masks. As root it also runs
// the whole test again as an unprivileged user.
func TestEngineEscapesFail(t *testing.T) {
	if os.Getenv("CUTOUT_ESCAPE_CHILD") == "" && os.Getuid() == 0 {
		t.Run("as an unprivileged user", testEscapesAsUser)
	}
	who := "as root"
	if os.Getuid() != 0 {
		who = "as uid " + strconv.Itoa(os.Getuid())
	}
	t.Run(who, testEscapes)
}

func testEscapes(t *testing.T) {
	dir := openDir(t)
	userFile := filepath.Join(dir, "private.txt")
	if err := os.WriteFile(userFile, []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	outDir := filepath.Join(dir, "out")
	if err := os.Mkdir(outDir, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(outDir, 0o777)
	unixPath := filepath.Join(dir, "bus.sock")
	arrived := make(chan string, 16)
	listen := func(network, addr string) {
		ln, err := net.Listen(network, addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				arrived <- network + " " + addr
				c.Close()
			}
		}()
	}
	listen("unix", unixPath)
	os.Chmod(unixPath, 0o777)
	listen("unix", "@cutout-escape-"+strconv.Itoa(os.Getpid()))

	// Descriptors this process holds without close-on-exec, as if inherited from whatever
	// started Cutout: a pipe at 251 and a TCP connection at 252.
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	client, err := net.Dial("tcp", tcp.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := tcp.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	cf, _ := client.(*net.TCPConn).File()
	defer cf.Close()
	for fd, f := range map[int]*os.File{251: pw, 252: cf} {
		if err := unix.Dup3(int(f.Fd()), fd, 0); err != nil { // no O_CLOEXEC
			t.Fatal(err)
		}
		defer unix.Close(fd)
	}

	// The engine's stderr is a terminal, as when Cutout runs in one.
	ptm, pts := openPTY(t)
	defer ptm.Close()
	defer pts.Close()

	s := testSupervisor(t, SupervisorConfig{stderr: pts})
	params, _ := json.Marshal(escapeParams{UserFile: userFile, OutDir: outDir, UnixPath: unixPath,
		Abstract: "cutout-escape-" + strconv.Itoa(os.Getpid()), AppPID: os.Getpid(), Inherited: []int{251, 252}})
	_, err = s.cut(context.Background(), "hook:escape", params, 0)
	if err == nil {
		t.Fatal("the escape hook did not run")
	}
	report := strings.TrimPrefix(err.Error(), "hook:escape: ")
	t.Logf("escapes tried from inside the engine:\n%s", report)
	lines := strings.Split(strings.TrimSpace(report), "\n")
	if len(lines) < 40 {
		t.Fatalf("only %d escapes reported", len(lines))
	}
	for _, l := range lines {
		if !strings.Contains(l, ": blocked (") {
			t.Errorf("escape not blocked: %s", l)
		}
	}
	select {
	case what := <-arrived:
		t.Errorf("a connection from the engine reached %s", what)
	case <-time.After(100 * time.Millisecond):
	}
	if entries, _ := os.ReadDir(outDir); len(entries) != 0 {
		t.Errorf("the engine created %v in OUT", entries)
	}
	for name, c := range map[string]interface{ SetReadDeadline(time.Time) error }{"pipe": pr, "tcp": server} {
		c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if n, _ := c.(io.Reader).Read(make([]byte, 16)); n > 0 {
			t.Errorf("bytes from the engine arrived through the inherited %s", name)
		}
	}
	fd := int(pts.Fd()) // Fd makes the descriptor blocking: take it once
	unix.SetNonblock(fd, true)
	if n, _ := unix.Read(fd, make([]byte, 16)); n > 0 {
		t.Error("the engine pushed input into its terminal")
	}
	goldenMasks(t, s)
}

// goldenMasks: the confined engine still cuts out every sample as the peer does (the bounds
// of engine/infer's TestSamplesMatchPeer, loosened for its different resize).
func goldenMasks(t *testing.T, s *Supervisor) {
	t.Helper()
	for _, name := range []string{"astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg"} {
		r, err := s.Cut(context.Background(), name, sample(t, name))
		if err != nil {
			t.Fatalf("after the escapes: %v", err)
		}
		base := strings.TrimSuffix(name, filepath.Ext(name))
		f, err := os.Open(filepath.Join(repoRoot(t), "engine", "infer", "testdata", "golden", "peer-small", base+".png"))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		g := image.NewGray(img.Bounds())
		for y := 0; y < g.Rect.Dy(); y++ {
			for x := 0; x < g.Rect.Dx(); x++ {
				g.Set(x, y, img.At(x, y))
			}
		}
		var inter, union, sum float64
		for i := range g.Pix {
			a, b := r.Mask.Pix[i] > 127, g.Pix[i] > 127
			if a && b {
				inter++
			}
			if a || b {
				union++
			}
			sum += math.Abs(float64(r.Mask.Pix[i]) - float64(g.Pix[i]))
		}
		iou, mad := inter/union, sum/float64(len(g.Pix))
		if iou < 0.93 || mad > 4 {
			t.Errorf("%s after the escapes: IoU %.3f, mean abs diff %.2f/255 against the golden mask", name, iou, mad)
		}
	}
}

// testEscapesAsUser runs this test again in a copy of the test binary as uid 65534, with the
// library, models and samples copied where that user can read them.
func testEscapesAsUser(t *testing.T) {
	root := repoRoot(t)
	dir := openDir(t)
	copyTo := func(src, dst string) {
		t.Helper()
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Dir(dst), 0o755)
		if err := os.WriteFile(dst, data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "cutout.test")
	copyTo(os.Args[0], bin)
	copyTo(filepath.Join(root, "lib", "libonnxruntime.so.1"), filepath.Join(dir, "lib", "libonnxruntime.so.1"))
	copyTo(filepath.Join(root, "models", "models.toml"), filepath.Join(dir, "models", "models.toml"))
	copyTo(filepath.Join(root, "models", "isnet-general-q8.onnx"), filepath.Join(dir, "models", "isnet-general-q8.onnx"))
	for _, s := range []string{"astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg"} {
		copyTo(filepath.Join(root, "assets", "samples", s), filepath.Join(dir, "assets", "samples", s))
		g := strings.TrimSuffix(s, filepath.Ext(s)) + ".png"
		copyTo(filepath.Join(root, "engine", "infer", "testdata", "golden", "peer-small", g),
			filepath.Join(dir, "engine", "infer", "testdata", "golden", "peer-small", g))
	}
	os.MkdirAll(filepath.Join(dir, "app"), 0o755)
	tmp := filepath.Join(dir, "tmp")
	os.Mkdir(tmp, 0o777)
	os.Chmod(tmp, 0o777)
	cmd := exec.Command(bin, "-test.run", "^TestEngineEscapesFail$", "-test.v")
	cmd.Dir = filepath.Join(dir, "app") // repoRoot is the working folder's parent
	cmd.Env = []string{"CUTOUT_ESCAPE_CHILD=1", "TMPDIR=" + tmp, "PATH=/usr/bin:/bin",
		"CUTOUT_ORT_LIB=" + filepath.Join(dir, "lib", "libonnxruntime.so.1"), "CUTOUT_MODELS=" + filepath.Join(dir, "models")}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	t.Logf("as uid 65534:\n%s", out)
	if err != nil {
		t.Fatalf("as uid 65534: %v", err)
	}
	if !strings.Contains(string(out), "--- PASS: TestEngineEscapesFail/as_uid_65534") {
		t.Fatal("the unprivileged run did not pass its test")
	}
}

// openDir is a fresh folder anyone may enter (t.TempDir's parent is the test user's only).
func openDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "cutout-escape-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// openPTY opens a pseudo-terminal pair.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skip("no pseudo-terminals here:", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return m, s
}
