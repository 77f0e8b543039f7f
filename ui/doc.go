// Package ui is Cutout's desktop window: the drop zone and job queue, the preview with its
// zoom, before/after comparison and brush hints, the matte controls, export and settings.
//
// ui owns widgets, what they show and how they react; it reaches the rest of Cutout only
// through the Backend interface it defines (implemented by package app). It runs the
// finishing stage (engine/matte) itself, on a display-resolution copy for live previews and
// at full resolution on export.
//
// ui must never import app, engine/infer or engine/validate, never decode untrusted bytes,
// and never block the UI goroutine: cut-outs, previews, exports and engine restarts run on
// goroutines of their own, and their results come back through fyne.Do, batched.
package ui
