package app

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"syscall"
)

// deathError is how a job learns that the engine died while it was in flight.
type deathError struct {
	reason string
	kind   error
	// timedOut: this job's own time ran out (the engine was stopped for it).
	timedOut bool
	// external: the engine was killed from outside (SIGKILL not sent by the supervisor).
	external bool
}

func (d *deathError) Error() string { return d.reason }
func (d *deathError) Unwrap() error { return d.kind }

// explain turns how the process ended into a sentence for the user.
func (w *worker) explain(waitErr, protoErr error) *deathError {
	log := w.stderr.String()
	switch {
	case w.timedOut.Load():
		// Another job's time ran out (the one that did is told so by do).
		return &deathError{reason: "the engine was stopped because another image took too long", kind: ErrEngineTimeout}
	case protoErr != nil:
		return &deathError{reason: "the engine sent a malformed reply and was stopped (" + protoErr.Error() + ")", kind: ErrEngineCrash}
	// The last one is the race detector's runtime failing to map memory under the address
	// space limit (test builds).
	case strings.Contains(log, "out of memory") || strings.Contains(log, "bad_alloc") ||
		strings.Contains(log, "cannot allocate memory") || strings.Contains(log, "failed to allocate") ||
		strings.Contains(log, "too many address space collisions"):
		return &deathError{reason: fmt.Sprintf("the engine ran out of memory on this image (limit %d MiB)", w.memory>>20), kind: ErrEngineOOM}
	}
	var ee *exec.ExitError
	if errors.As(waitErr, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			if ws.Signal() == syscall.SIGKILL {
				return &deathError{reason: "the engine was killed from outside (SIGKILL: by the system's out-of-memory killer, or by hand) while working on this image", kind: ErrEngineKilled, external: true}
			}
			return &deathError{reason: fmt.Sprintf("the engine crashed (%v) while working on this image", ws.Signal()), kind: ErrEngineCrash}
		}
		if strings.Contains(log, "SIGSEGV") || strings.Contains(log, "panic:") {
			return &deathError{reason: "the engine crashed (" + lastLine(firstPanic(log)) + ") while working on this image", kind: ErrEngineCrash}
		}
		return &deathError{reason: fmt.Sprintf("the engine stopped unexpectedly (%v) while working on this image", ee), kind: ErrEngineCrash}
	}
	return &deathError{reason: "the engine stopped unexpectedly while working on this image", kind: ErrEngineCrash}
}

func (w *worker) dead() bool {
	select {
	case <-w.done:
		return true
	default:
		return false
	}
}

// tail keeps the first and the last bytes written to it (the engine's stderr): a fatal
// error's first line ("fatal error: runtime: out of memory") survives the long goroutine dump
// that follows it.
type tail struct {
	mu    sync.Mutex
	max   int
	head  []byte // the first headSize bytes
	buf   []byte // the last max bytes
	total int64  // bytes written
}

// headSize is how much of the beginning a tail keeps.
const headSize = 4096

func newTail(max int) *tail { return &tail{max: max} }

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if room := headSize - len(t.head); room > 0 {
		t.head = append(t.head, p[:min(room, len(p))]...)
	}
	t.total += int64(len(p))
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

// String is everything written when it all fits; otherwise the first bytes and the last
// ones, with a gap marker between them when bytes in the middle were dropped.
func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	dropped := t.total - int64(len(t.buf)) // bytes before the kept end
	switch {
	case dropped == 0:
		return string(t.buf)
	case dropped <= int64(len(t.head)):
		return string(t.head[:dropped]) + string(t.buf)
	}
	return string(t.head) + "\n…\n" + string(t.buf)
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// firstPanic returns the log up to its first panic or fatal-signal line.
func firstPanic(log string) string {
	for _, key := range []string{"panic:", "SIGSEGV"} {
		if i := strings.Index(log, key); i >= 0 {
			rest := log[i:]
			if j := strings.IndexByte(rest, '\n'); j >= 0 {
				rest = rest[:j]
			}
			return rest
		}
	}
	return log
}
