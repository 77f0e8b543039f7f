// Package matte owns the finishing stage of Cutout: it turns an image and the model's soft
// probability mask into a clean cut-out. It builds trimaps from thresholds and erosion, refines
// the alpha matte (closed-form matting after Levin, Lischinski and Weiss, or a guided filter
// after He et al. for live previews), applies the user's brush hints, post-processes, shifts
// and feathers the matte, estimates the foreground colours of semi-transparent pixels (Germer
// et al.'s multi-level method) and composites the result over transparency or a colour.
//
// The package is pure Go and runs in the main process on every slider move, so every stage is
// parallel (bounded by parallel.SetMaxProcs) and linear or near-linear in the pixel count.
//
// It must never decode or encode files, run a model, touch the network, use cgo, or import Fyne,
// ui/ or app/: it sees only in-memory images that engine/infer has already produced.
//
// Alpha and Finish are the entry points; Options is the one struct that the CLI flags and the GUI
// controls bind to. The individual stages (Trimap, ClosedForm, GuidedFilter, EstimateForeground,
// PostProcessMask, Shift, Feather, Composite) are exported for tests, benchmarks and tools.
package matte
