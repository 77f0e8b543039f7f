// Package app wires Cutout together: configuration, the command-line subcommands, the batch
// pipeline (validate → engine → finishing → atomic write), the engine supervisor and the
// hot-folder service. The GUI (package ui) reaches the engine only through app.
//
// app never decodes untrusted image bytes itself: that happens in the engine.
package app
