// Package infer owns everything between image bytes and the model's mask: decoding (with EXIF
// orientation), pre-processing into the model's NCHW input, ONNX Runtime sessions, and
// post-processing the prediction back into a full-resolution mask.
//
// It is the only package that decodes pixels or runs a model, and it runs only inside the
// sandboxed engine process (`cutout engine`) or in tests and benchmarks. It never opens a
// model by path on a job's say-so (models come verified from engine/models), never touches the
// network, and never imports the UI or the app.
package infer
