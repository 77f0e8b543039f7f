package app

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

// gcPercent is the garbage collector's heap growth both processes run with. Cutout's heap is
// nearly all pixel buffers, which hold no pointers, so collecting more often costs little,
// while Go's default (the heap may double before a collection) let a batch of 24 MP photos
// hold several dead copies. Measured with make bench-peer, 12 MP / 24 MP batches: process
// tree peak 1373 → 1241 MB and 1653 → 1407 MB at 100 → 25, throughput within the run's noise.
const gcPercent = 25

// tuneGC applies gcPercent unless the user set GOGC.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}

// Version is Cutout's version, printed by `cutout version`.
const Version = "0.1.0"

const usage = `Cutout removes image backgrounds locally.

usage:
  cutout [FILE|FOLDER...]        open the app (with these photos)
  cutout remove IN... -o OUTDIR  cut out files and folders (recursively) into PNGs
  cutout watch IN OUT            cut out every image that lands in IN into OUT, until interrupted
  cutout worker nats://HOST:PORT take a hub's jobs (cutout watch --serve) on this machine
  cutout models [verify]         list the models, check their checksums
  cutout doctor                  start the engine and list how it is confined
  cutout version                 print the version
  cutout help [COMMAND]          this text, or a command's flags

Run "cutout help remove", "cutout help watch" or "cutout help worker" for their flags.
`

// Main runs a subcommand and returns the process exit code: 0 success, 1 some work failed,
// 2 bad usage.
func Main(args []string, stdout, stderr io.Writer) int {
	tuneGC()
	if len(args) == 0 || args[0] != "engine" {
		hardenApp()
	}
	if len(args) == 0 {
		return runGUI(stderr, nil)
	}
	if openable(args) {
		return runGUI(stderr, args)
	}
	switch args[0] {
	case "remove", "rm", "i", "p":
		return cmdRemove(args[1:], stdout, stderr)
	case "watch":
		return cmdWatch(args[1:], stdout, stderr)
	case "worker":
		return cmdWorker(args[1:], stdout, stderr)
	case "models":
		return cmdModels(args[1:], stdout, stderr)
	case "doctor":
		return cmdDoctor(args[1:], stdout, stderr)
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

// openable reports whether args are paths to open in the window (`cutout photo.jpg
// shoots/`): every one exists and the first is no command's name.
func openable(args []string) bool {
	switch args[0] {
	case "remove", "rm", "i", "p", "watch", "models", "doctor", "engine", "version", "help":
		return false
	}
	for _, a := range args {
		if _, err := os.Stat(a); err != nil {
			return false
		}
	}
	return true
}
