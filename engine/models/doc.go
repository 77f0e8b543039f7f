// Package models owns the model manifest (models/models.toml) and the checksum check that
// every model file passes before the engine may load it.
//
// It reads files and hashes them; it never loads a model into ONNX Runtime, never decodes
// images and never fetches anything from the network. A model is handed to the engine only
// as the bytes that were verified (Verify returns them), so a file swapped after the check
// cannot be loaded.
package models
