package app

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"cutout/internal/quote"
)

// progress draws a one-line bar on a terminal, or prints a line per finished file otherwise.
type progress struct {
	mu      sync.Mutex
	w       io.Writer
	tty     bool
	total   int
	done    int
	failed  int
	started time.Time
	width   int
}

func newProgress(w io.Writer, total int) *progress {
	p := &progress{w: w, total: total, started: time.Now(), width: 30}
	if f, ok := w.(*os.File); ok {
		if _, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS); err == nil {
			p.tty = true
		}
	}
	return p
}

// finish records one outcome and redraws.
func (p *progress) finish(o Outcome) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	skipped := errors.Is(o.Err, errSkipped)
	if o.Err != nil && !skipped {
		p.failed++
	}
	// Names and messages are quoted and escaped: a file name can hold terminal escapes or a
	// newline that forges a line.
	if !p.tty {
		switch {
		case skipped:
			fmt.Fprintf(p.w, "[%d/%d] already done: %s -> %s\n", p.done, p.total, quote.Name(o.Job.Path), quote.Name(o.Output))
		case o.Err != nil:
			fmt.Fprintf(p.w, "[%d/%d] failed: %s\n", p.done, p.total, quote.Text(o.Err.Error()))
		default:
			fmt.Fprintf(p.w, "[%d/%d] %s -> %s\n", p.done, p.total, quote.Name(o.Job.Path), quote.Name(o.Output))
		}
		return
	}
	if o.Err != nil && !skipped {
		fmt.Fprintf(p.w, "\r\033[K%s\n", quote.Text(o.Err.Error()))
	}
	fill := p.width * p.done / max(p.total, 1)
	el := time.Since(p.started)
	rate := float64(p.done) / el.Seconds()
	fmt.Fprintf(p.w, "\r\033[K[%s%s] %d/%d  %.2f img/s  %s", strings.Repeat("#", fill), strings.Repeat(" ", p.width-fill),
		p.done, p.total, rate, el.Round(time.Second))
	if p.done == p.total {
		fmt.Fprintln(p.w)
	}
}
