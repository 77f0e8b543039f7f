package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestWatchOnce, with the real engine: `cutout watch IN OUT --once` goes through what IN
// holds and exits 1 when a file failed (two outputs, one note); run again, the unchanged
// failed file still fails the run, and nothing is cut out or written again; once it is
// gone, the run exits 0 with everything already done.
func TestWatchOnce(t *testing.T) {
	eng := testSupervisor(t, SupervisorConfig{})
	base := t.TempDir()
	in, out := filepath.Join(base, "in"), filepath.Join(base, "out")
	copySample(t, "coffee.png", filepath.Join(in, "coffee.png"))
	copySample(t, "rocket.jpg", filepath.Join(in, "sub", "rocket.jpg"))
	if err := os.WriteFile(filepath.Join(in, "page.png"), []byte("<!doctype html><html>not an image</html>"), 0o644); err != nil {
		t.Fatal(err)
	}
	once := func() (int, string) {
		t.Helper()
		// --grace 1s: the refused file was written just now, so its failure is final only
		// once it has been unchanged for the grace period.
		c, code := parseWatch([]string{in, out, "--once", "--recursive", "--settle", "200ms", "--grace", "1s"}, os.Stderr)
		if c == nil {
			t.Fatalf("usage error %d", code)
		}
		var log syncBuffer
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		code = c.run(ctx, eng, &log)
		if ctx.Err() != nil {
			t.Fatalf("--once did not end:\n%s", log.String())
		}
		t.Logf("exit %d:\n%s", code, log.String())
		return code, log.String()
	}

	code, _ := once()
	want := []string{"coffee.png", filepath.Join("sub", "rocket.png")}
	if got := pngsIn(t, out); code != 1 || !slices.Equal(got, want) {
		t.Fatalf("first run: exit %d, outputs %v; want 1 and %v", code, got, want)
	}
	notes, _ := os.ReadDir(filepath.Join(out, ".cutout-failed"))
	if len(notes) != 1 || notes[0].Name() != "page.png.txt" {
		t.Fatalf("failure notes %v", notes)
	}
	recs, _, _ := journal(t, out)
	stamps := map[string]time.Time{}
	for _, p := range append(want, filepath.Join(".cutout-failed", "page.png.txt")) {
		fi, err := os.Stat(filepath.Join(out, p))
		if err != nil {
			t.Fatal(err)
		}
		stamps[p] = fi.ModTime()
	}

	code, log := once()
	if code != 1 || !strings.Contains(log, "still failed 1") || !strings.Contains(log, "already done 2") {
		t.Fatalf("second run: exit %d, want 1 (the refused file is still failed)", code)
	}
	again, _, _ := journal(t, out)
	if len(again) != len(recs) {
		t.Errorf("the second run wrote %d journal records", len(again)-len(recs))
	}
	for p, m := range stamps {
		if fi, err := os.Stat(filepath.Join(out, p)); err != nil || !fi.ModTime().Equal(m) {
			t.Errorf("%s was written again", p)
		}
	}

	os.Remove(filepath.Join(in, "page.png"))
	if code, log := once(); code != 0 || !strings.Contains(log, "already done 2") {
		t.Fatalf("third run: exit %d, want 0", code)
	}
}

// TestTemporary: failures that are not the input's fault are retried by a hot folder, never
// recorded against the file: writing into OUT, an engine stopped for another image, killed
// from outside or unable to start, a full disk, an I/O error. The file's own are not.
func TestTemporary(t *testing.T) {
	another := &deathError{reason: "the engine was stopped because another image took too long", kind: ErrEngineTimeout}
	own := &deathError{reason: "the engine took longer than 2m0s on this image and was stopped", kind: ErrEngineTimeout, timedOut: true}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&writeError{name: "a.jpg", dir: "/out", err: &fs.PathError{Op: "open", Path: "/out/a.png", Err: syscall.EACCES}}, true},
		{&writeError{name: "a.jpg", dir: "/out", err: &fs.PathError{Op: "write", Path: "/out/a.png", Err: syscall.ENOSPC}}, true},
		{fromEngine("a.jpg", another), true},
		{fromEngine("a.jpg", fmt.Errorf("a.jpg: %w", &deathError{reason: "killed", kind: ErrEngineKilled, external: true})), true},
		{fmt.Errorf("%w: no model", ErrEngineStart), true},
		{&fs.PathError{Op: "read", Path: "/in/a.jpg", Err: syscall.EIO}, true},
		{fromEngine("a.jpg", own), false},
		{fromEngine("a.jpg", &deathError{reason: "the engine crashed", kind: ErrEngineCrash}), false},
		{errors.New(`"a.jpg" is not an image: it is HTML`), false},
	} {
		if got := temporary(tc.err); got != tc.want {
			t.Errorf("temporary(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
