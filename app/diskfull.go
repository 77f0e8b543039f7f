package app

import (
	"context"
	"errors"
	"sync"
	"syscall"
	"time"
)

// diskFull reports whether err means the disk (or the user's quota) has no room left.
func diskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// diskWait is what every writer of one output folder does when its disk is full: wait for
// space with backoff, keeping the work already done, and say so once per episode — not once
// per file or per attempt. A nil *diskWait does not wait.
type diskWait struct {
	// Say receives one sentence when the disk fills and one when there is room again.
	Say func(msg string)

	mu   sync.Mutex
	full bool
}

// maxSpaceWait is the longest pause between two attempts while the disk is full.
const maxSpaceWait = 30 * time.Second

// wait records that a write failed with err (see diskFull) and sleeps before the attempt
// after attempt (0 for the first failure): 1 s, doubling up to maxSpaceWait. It returns the
// cause when ctx ends first.
func (d *diskWait) wait(ctx context.Context, err error, attempt int) error {
	if d == nil {
		return err
	}
	d.mu.Lock()
	first := !d.full
	d.full = true
	d.mu.Unlock()
	if first && d.Say != nil {
		d.Say("the disk holding the output folder is full (" + systemReason(err) + "); waiting for space, nothing is redone")
	}
	pause := min(time.Second<<min(attempt, 5), maxSpaceWait)
	t := time.NewTimer(pause)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}

// recovered ends an episode after a write succeeded.
func (d *diskWait) recovered() {
	if d == nil {
		return
	}
	d.mu.Lock()
	was := d.full
	d.full = false
	d.mu.Unlock()
	if was && d.Say != nil {
		d.Say("there is space again; going on")
	}
}
