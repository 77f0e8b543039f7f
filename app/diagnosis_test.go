package app

import (
	"strings"
	"testing"
)

// The tail gives back what was written, whole while it fits, and the beginning and end with
// one gap marker once the middle had to go.
func TestTailKeepsBeginningAndEnd(t *testing.T) {
	const max = 16 << 10
	text := func(n int) string {
		var b strings.Builder
		for i := 0; b.Len() < n; i++ {
			b.WriteString(strings.Repeat(string(rune('a'+i%26)), 99) + "\n")
		}
		return b.String()[:n]
	}
	for _, n := range []int{0, 100, headSize, headSize + 1, 10 << 10, max, max + 1, max + headSize, max + headSize + 1, 100 << 10} {
		in := text(n)
		tl := newTail(max)
		for i := 0; i < len(in); i += 777 { // in pieces, as a pipe delivers it
			tl.Write([]byte(in[i:min(i+777, len(in))]))
		}
		got := tl.String()
		switch {
		case n <= max+headSize:
			if got != in {
				t.Errorf("%d bytes written: got %d bytes back, not the text (gap marker: %v)", n, len(got), strings.Contains(got, "…"))
			}
		default:
			want := in[:headSize] + "\n…\n" + in[n-max:]
			if got != want {
				t.Errorf("%d bytes written: got %d bytes, want the first %d, a marker and the last %d", n, len(got), headSize, max)
			}
		}
	}
}
