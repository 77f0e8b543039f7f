package app

import (
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"cutout/engine/models"
)

func cmdModels(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("models", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: cutout models [verify]\n\nLists the models of models/models.toml; verify checks each installed file's checksum.\n")
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	verify := len(pos) > 0 && pos[0] == "verify"
	if len(pos) > 0 && !verify {
		fs.Usage()
		return 2
	}
	dir, err := FindModelsDir()
	if err != nil {
		fmt.Fprintln(stderr, "cutout models:", err)
		return 1
	}
	man, err := models.Load(dir)
	if err != nil {
		fmt.Fprintln(stderr, "cutout models:", err)
		return 1
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tSIZE\tINPUT\tDESCRIPTION")
	bad := 0
	for _, m := range man.Models {
		state := "not installed"
		if _, err := os.Stat(m.Path); err == nil {
			state = "installed"
			if verify {
				if _, err := models.Verify(m); err != nil {
					state = "CHECKSUM MISMATCH"
					bad++
					fmt.Fprintln(stderr, err)
				} else {
					state = "verified"
				}
			}
		}
		if m.Name == man.Default {
			state += " (default)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%.1f MB\t%d px\t%s\n", m.Name, state, float64(m.Size)/1e6, m.InputSize, m.Description)
	}
	tw.Flush()
	fmt.Fprintf(stdout, "\nmodels folder: %s\n", man.Dir)
	if bad > 0 {
		return 1
	}
	return 0
}
