package watch

import (
	"fmt"
	"time"

	"cutout/internal/quote"
)

// State is where a watch stands.
type State int

// The states of a watch.
const (
	Stopped  State = iota // not running
	Starting              // opening the journal, first scan
	Watching              // running and watching In
	Missing               // running, but In is gone (deleted, unmounted): waiting for it
)

// String names the state for people.
func (s State) String() string {
	switch s {
	case Starting:
		return "starting"
	case Watching:
		return "watching"
	case Missing:
		return "folder missing"
	}
	return "stopped"
}

// Stats are a watch's live counts since it was created.
type Stats struct {
	State State
	// Problem says why In is missing, why the watch waits (the disk holding OUT is full) or
	// why it stopped ("" when all is well).
	Problem string
	// Seen counts inputs noticed that the journal had not already handled.
	Seen int
	// Done and Failed count outcomes; Skipped counts inputs found already handled.
	Done, Failed, Skipped int
	// StillFailed counts, in a Once run, inputs found unchanged since they failed in an
	// earlier run (their notes are in OUT/.cutout-failed); Unfinished counts those the run
	// gave up on because their failures, not their own fault, did not end (no note).
	StillFailed, Unfinished int
	// Waiting counts inputs noticed and not yet handed over (settling, ready and waiting for
	// a worker, waiting to be tried again, or failed while possibly incomplete and waiting
	// for Config.Grace); Busy counts those handed to the workers and not finished.
	Waiting, Busy int
}

// Kind is what an activity entry reports.
type Kind int

// The kinds of activity.
const (
	KindDone    Kind = iota // an input was cut out (Output set)
	KindFailed              // an input failed (Message says why)
	KindSkipped             // an input was already handled or cannot be an input
	KindMoved               // an original moved to IN/.cutout-done
	KindInfo                // the watch started, stopped, rescanned, …
	KindProblem             // something needs attention (In missing, a write failed, …)
)

// String names the kind.
func (k Kind) String() string {
	switch k {
	case KindDone:
		return "done"
	case KindFailed:
		return "failed"
	case KindSkipped:
		return "skipped"
	case KindMoved:
		return "moved"
	case KindProblem:
		return "problem"
	}
	return "info"
}

// Activity is one entry of a watch's recent-activity list.
type Activity struct {
	Time time.Time
	Kind Kind
	// Path is the input, relative to In ("" for the watch as a whole).
	Path string
	// Output is the file written, for KindDone and KindMoved.
	Output string
	// Message is a sentence for people.
	Message string
}

// String is the entry as one log line. File names are quoted and the message escaped
// (quote.Name, quote.Text): a name can hold terminal escapes or a newline that would forge
// a line of the log.
func (a Activity) String() string {
	path, output, msg := quote.Name(a.Path), quote.Name(a.Output), quote.Text(a.Message)
	switch {
	case a.Output != "" && a.Message != "":
		return fmt.Sprintf("%s %s -> %s (%s)", a.Kind, path, output, msg)
	case a.Output != "":
		return fmt.Sprintf("%s %s -> %s", a.Kind, path, output)
	case a.Path != "":
		return fmt.Sprintf("%s %s: %s", a.Kind, path, msg)
	}
	return fmt.Sprintf("%s: %s", a.Kind, msg)
}

// recentSize is how many activity entries a watch keeps.
const recentSize = 200

// ring keeps the last recentSize entries.
type ring struct {
	buf  [recentSize]Activity
	next int
	n    int
}

func (r *ring) add(a Activity) {
	r.buf[r.next] = a
	r.next = (r.next + 1) % recentSize
	r.n = min(r.n+1, recentSize)
}

// list returns the entries, oldest first.
func (r *ring) list() []Activity {
	out := make([]Activity, 0, r.n)
	for i := 0; i < r.n; i++ {
		out = append(out, r.buf[(r.next-r.n+i+recentSize)%recentSize])
	}
	return out
}
