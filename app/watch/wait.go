package watch

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall"
	"time"

	"cutout/internal/quote"
)

// maxJournalWait is the longest pause between two attempts at a journal record that could
// not be written.
const maxJournalWait = 30 * time.Second

// journalWait is the state, shared by the workers, of an episode during which the journal
// cannot be written (the disk holding OUT is full, say): it is reported when it begins and
// when it ends, not once per record or per attempt.
type journalWait struct {
	out string // OUT, for messages

	mu      sync.Mutex
	trouble bool
	full    bool   // the trouble is a full disk (or quota)
	said    string // the message that began the episode, shown as Stats.Problem meanwhile
}

// diskFull reports whether err means that the disk (or the user's quota) has no room left.
func diskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// record appends rec to the journal. When that fails it keeps trying, 1 s after the first
// failure and twice as long after each next one up to maxJournalWait, until it succeeds or
// ctx ends (its error is then ctx's cause): a record that cannot be written yet is never a
// reason to redo the work it records. A journal taken over by another Cutout (ErrInUse) is
// not waited for, and a Once run gives up after onceAttempts.
func (r *runner) record(ctx context.Context, rec Record) error {
	for attempt := 0; ; attempt++ {
		err := r.j.Append(rec)
		if err == nil {
			r.wait.recovered(r.w)
			return nil
		}
		if errors.Is(err, ErrInUse) {
			return err
		}
		r.wait.failed(r.w, err)
		if r.cfg.Once && attempt+1 >= onceAttempts {
			return err
		}
		t := time.NewTimer(r.w.backoff(attempt+1, maxJournalWait))
		select {
		case <-ctx.Done():
			t.Stop()
			return context.Cause(ctx)
		case <-t.C:
		}
	}
}

// failed notes that a record could not be written, reporting the episode if it begins.
func (jw *journalWait) failed(w *Watch, err error) {
	msg := fmt.Sprintf("the disk holding %s is full; waiting for space", quote.Name(jw.out))
	if !diskFull(err) {
		msg = fmt.Sprintf("the journal in %s cannot be written (%s); waiting, and trying again", quote.Name(jw.out), errText(err))
	}
	jw.mu.Lock()
	first := !jw.trouble
	if first {
		jw.trouble, jw.full, jw.said = true, diskFull(err), msg
	}
	jw.mu.Unlock()
	if !first {
		return
	}
	w.update(func(s *Stats) {
		if s.Problem == "" {
			s.Problem = msg
		}
	})
	w.log(Activity{Kind: KindProblem, Message: msg})
}

// recovered ends an episode, if one was under way, after a record was written.
func (jw *journalWait) recovered(w *Watch) {
	jw.mu.Lock()
	was, full, said := jw.trouble, jw.full, jw.said
	jw.trouble, jw.full, jw.said = false, false, ""
	jw.mu.Unlock()
	if !was {
		return
	}
	w.update(func(s *Stats) {
		if s.Problem == said {
			s.Problem = ""
		}
	})
	msg := fmt.Sprintf("there is space again on the disk holding %s; going on", quote.Name(jw.out))
	if !full {
		msg = fmt.Sprintf("the journal in %s can be written again; going on", quote.Name(jw.out))
	}
	w.log(Activity{Kind: KindInfo, Message: msg})
}
