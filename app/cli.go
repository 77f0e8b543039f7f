package app

import (
	"fmt"
	"io"
	"os"
)

// Version is Cutout's version, printed by `cutout version`.
const Version = "0.1.0"

const usage = `Cutout removes image backgrounds locally.

usage:
  cutout                         open the app
  cutout remove IN... -o OUTDIR  cut out files and folders (recursively) into PNGs
  cutout watch IN OUT            cut out every image that lands in IN into OUT, until interrupted
  cutout models [verify]         list the models, check their checksums
  cutout version                 print the version
  cutout help [COMMAND]          this text, or a command's flags

Run "cutout help remove" or "cutout help watch" for their flags.
`

// Main runs a subcommand and returns the process exit code: 0 success, 1 some work failed,
// 2 bad usage.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		return runGUI()
	}
	switch args[0] {
	case "remove", "rm", "i", "p":
		return cmdRemove(args[1:], stdout, stderr)
	case "watch":
		return cmdWatch(args[1:], stdout, stderr)
	case "models":
		return cmdModels(args[1:], stdout, stderr)
	case "engine":
		return cmdEngine(args[1:], stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "cutout", Version)
		return 0
	case "help", "-h", "--help", "-help":
		if len(args) > 1 {
			return Main([]string{args[1], "-h"}, stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "cutout: unknown command %q\n\n%s", args[0], usage)
	return 2
}

// Run is Main on the process's own arguments and streams.
func Run() int { return Main(os.Args[1:], os.Stdout, os.Stderr) }
