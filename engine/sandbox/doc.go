// Package sandbox confines the engine process (`cutout engine`), which decodes untrusted bytes
// with third-party decoders and runs ONNX Runtime's C++ code, and is therefore designed as if
// it were already compromised.
//
// Confinement comes in two steps. Prepare runs first, before the engine reads a model or an
// image: it closes every descriptor but the protocol's pipes, caps the address space, sets
// no_new_privs and checks which namespaces the app gave the process. Lockdown runs once the
// model is loaded and the ONNX Runtime session exists, when the engine needs nothing but its
// pipes, memory and threads: it drops to an unprivileged id with no capabilities, applies a
// Landlock domain that allows no file access at all and scopes abstract UNIX sockets and
// signals, lowers the descriptor and file-size limits, and installs a seccomp allowlist
// (allowlist_linux.go) on every thread. A Report says which layers are active and why any is
// missing; the engine sends it in its hello frame.
//
// The package owns confinement only: it never reads images or models, and never imports the
// app or the UI.
package sandbox
