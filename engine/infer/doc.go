// Package infer owns everything between image bytes and the model's mask: decoding (with EXIF
// orientation), pre-processing into the model's NCHW input, ONNX Runtime sessions, and
// post-processing the prediction into a mask at any size (Prediction.Mask: the app calls it,
// with the prediction the engine sends).
//
// It is the only package that decodes pixels or runs a model, and it does so only inside the
// sandboxed engine process (`cutout engine`) or in tests and benchmarks; the app uses only its
// types and the arithmetic on what the engine sends back (Prediction.Mask, UnpackYCbCr). It never opens a
// model by path on a job's say-so (models come verified from engine/models), never touches the
// network, and never imports the UI or the app.
package infer
