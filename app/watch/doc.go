// Package watch owns Cutout's hot folders: it watches an input folder (IN) with fsnotify,
// waits until each arriving file is complete, hands it to a Handler exactly once, records
// every input and its outcome in a crash-safe journal in the output folder (OUT), and keeps
// counts and a recent-activity list that a GUI can read while several watches run.
//
// What it decides: which files are inputs (complete, regular, not hidden, not a download in
// progress, not one of its own outputs), when they are taken (size and modification time
// stable for the settle time, and readable whole), whether they were already done (path and
// SHA-256 in the journal; size, modification time and status-change time tell when the
// content must be read again to know), where each output goes (decided and claimed before
// the work starts), and what happens to the original (kept, or moved to IN/.cutout-done
// after its output is safely written). Failures of the file's own leave the original in
// place and a reason in OUT/.cutout-failed/<name>.txt; failures that are not its fault are
// retried with backoff, and a journal that cannot be written is waited for.
//
// What it must never do: decode or even sniff image bytes (that is validation's and the
// sandboxed engine's job; the Handler does it), follow a symbolic link (a link anywhere in
// IN is skipped, so nothing outside IN is ever read), open a FIFO, socket or device, modify
// an input, overwrite an output other than the same input's own earlier one, or hold file
// contents in memory beyond the file each worker is handling (read once: hashed, and handed
// to the Handler as they are). It must not import package app: the app adapts its pipeline
// to Handler.
package watch
