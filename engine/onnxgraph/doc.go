// Package onnxgraph owns the reading and rewriting of ONNX model files at the protobuf level:
// the names of a model's inputs and outputs (IO), and the rewrites infer.NewSession applies
// before ONNX Runtime loads a model: Widen (float16 to float32), Dequantize (the light
// dynamically quantised convolutions to float ones) and PlanPrune (only the output read).
// One table of onnx.proto field numbers (fields.go) and one walker (walk.go) serve them all.
//
// It works on bytes in memory and nothing else: it never opens a file, never touches the
// network, never runs a model (ONNX Runtime is only in its tests) and never imports the app
// or the UI. Only Apply writes to a buffer it is given; everything else leaves its input as
// it is and returns either that input itself (nothing to change) or a new buffer.
//
// The bytes are not always trusted. It runs in the engine process (`cutout engine`; tests and
// benchmarks load models in their own), after sandbox.Prepare and before sandbox.Lockdown:
// Landlock and seccomp are not in force yet. The model is normally the one models.Verify
// checked against the manifest, but a model given with --allow-unverified-model reaches the
// same code with no checksum at all. So every function must take arbitrary bytes: malformed
// input is an error, never a panic (the fuzz targets check it), and a model a rewrite does
// not fully understand is left as it is.
package onnxgraph
