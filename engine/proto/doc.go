// Package proto is the wire protocol between Cutout and its sandboxed engine process: small,
// versioned, length-prefixed frames over a pipe.
//
// Every frame is a 4-byte big-endian length (of what follows), a 1-byte type and the type's
// fields. The decoder trusts nothing: lengths are capped before anything is allocated, every
// field is bounds-checked, and a malformed frame is an error the caller answers by killing the
// worker (never by guessing). The package does no I/O of its own beyond the given reader and
// writer and never decodes images.
package proto
