package app

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"cutout/engine/validate"
	"cutout/internal/quote"
)

// cmdDoctor is `cutout doctor`: it starts the engine as every other command does and says
// what it runs (model, ONNX Runtime, device) and how it is confined, layer by layer. Exit 0
// when every layer is active, 1 when the engine lacks one or cannot start.
func cmdDoctor(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	engine := engineFlags(fs)
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: cutout doctor [flags]\n\nStarts the engine and lists its model, runtime, device and sandbox layers.\n\nflags:\n")
		fs.PrintDefaults()
	}
	if _, err := parseInterspersed(fs, args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	cfg, _ := engine(validate.DefaultLimits(), stderr)
	s, err := NewSupervisor(cfg)
	if err == nil {
		err = s.Start(context.Background())
		defer s.Close()
	}
	if err != nil {
		fmt.Fprintln(stderr, "cutout doctor:", err)
		return 1
	}
	h := s.hello()
	fmt.Fprintf(stdout, "model:         %s\nONNX Runtime:  %s\ndevice:        %s\nsandbox:\n", h.Model, h.Runtime, h.Device)
	missing := 0
	for _, l := range h.Sandbox {
		mark := "  ✓ "
		if strings.HasPrefix(l, "no ") {
			mark = "  ✗ "
			missing++
		}
		fmt.Fprintf(stdout, "%s%s\n", mark, quote.Text(l))
	}
	if missing > 0 {
		fmt.Fprintf(stdout, "%d sandbox layer(s) missing on this machine (see README, Security model)\n", missing)
		return 1
	}
	return 0
}
