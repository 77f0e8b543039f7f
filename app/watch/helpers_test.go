package watch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"cutout/internal/beneath"
)

// fake stands in for the engine: it writes a small output the way the app's sink does
// (temporary file, then renamed over Job.Output with Job.Replace, or else a hard link to
// Job.Output or its first free " (N)" variant) and counts calls per input.
type fake struct {
	out   string
	delay time.Duration
	write bool
	fail  func(j Job) error

	mu    sync.Mutex
	calls map[string]int
	sizes map[string][]int64
}

func newFake(out string) *fake {
	return &fake{out: out, write: true, calls: map[string]int{}, sizes: map[string][]int64{}}
}

func (f *fake) handle(ctx context.Context, j Job) (string, error) {
	f.mu.Lock()
	f.calls[j.Rel]++
	f.sizes[j.Rel] = append(f.sizes[j.Rel], j.Size)
	f.mu.Unlock()
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	if f.fail != nil {
		if err := f.fail(j); err != nil {
			return "", err
		}
	}
	if !f.write {
		return filepath.Join(f.out, j.Output), nil
	}
	return publish(f.out, j.Output, j.Replace, []byte("cut:"+j.Hash))
}

// publish writes data as OUT/name, replacing a file there with replace, or else as name or
// its first free " (N)" variant, never clobbering.
func publish(out, name string, replace bool, data []byte) (string, error) {
	dir := filepath.Join(out, filepath.Dir(name))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(dir, ".cutout-*.tmp")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	tmp.Write(data)
	tmp.Close()
	if replace {
		return filepath.Join(out, name), os.Rename(tmp.Name(), filepath.Join(out, name))
	}
	for n := 0; n < 1000; n++ {
		name := filepath.Join(dir, beneath.Numbered(filepath.Base(name), n))
		err := os.Link(tmp.Name(), name)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return name, err
	}
	return "", errors.New("no free name")
}

func (f *fake) count(rel string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[rel]
}

func (f *fake) total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		n += c
	}
	return n
}

// testConfig is a fast configuration for tests.
func testConfig(in, out string, h Handler) Config {
	return Config{In: in, Out: out, Handler: h, Settle: 150 * time.Millisecond, Poll: 50 * time.Millisecond,
		Rescan: -1, Grace: 300 * time.Millisecond, Extensions: []string{".jpg", ".jpeg", ".png"}}
}

// run starts a watch and stops it when the test ends.
func run(t *testing.T, c Config) *Watch {
	t.Helper()
	w, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	w.testErrors = make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	waitFor(t, "the watch to start", func() bool { return w.Stats().State == Watching })
	return w
}

// waitFor polls cond until it holds, failing after a deadline generous for a loaded machine.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// quiet waits long enough for a settled file to have been taken (several settle times),
// for tests that check that something did NOT happen.
func quiet(c Config) { time.Sleep(4*c.Settle + 200*time.Millisecond) }

// records reads the journal of out.
func records(t testing.TB, out string) []Record {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(out, JournalName))
	if err != nil {
		t.Fatal(err)
	}
	recs, _, bad := ParseJournal(data)
	if bad != 0 {
		t.Fatalf("journal has %d damaged lines", bad)
	}
	return recs
}

// outcomes counts done and failed records per input path.
func outcomes(recs []Record) (done, failed map[string]int) {
	done, failed = map[string]int{}, map[string]int{}
	for _, r := range recs {
		switch r.Op {
		case OpDone:
			done[r.Path]++
		case OpFailed:
			failed[r.Path]++
		}
	}
	return done, failed
}

func writeFile(t testing.TB, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// listOut lists the files under dir (relative, slash-separated), hidden ones included.
func listOut(t testing.TB, dir string) []string {
	t.Helper()
	var names []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			names = append(names, filepath.ToSlash(rel))
		}
		return nil
	})
	return names
}

func hasActivity(w *Watch, kind Kind, path, substr string) bool {
	for _, a := range w.Recent() {
		if a.Kind == kind && (path == "" || a.Path == path) && strings.Contains(a.String(), substr) {
			return true
		}
	}
	return false
}

func describe(w *Watch) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%+v\n", w.Stats())
	for _, a := range w.Recent() {
		fmt.Fprintln(&b, a)
	}
	return b.String()
}

// sha is the hex SHA-256 of s, as the journal records it.
func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
