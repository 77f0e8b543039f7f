// Package beneath opens, creates and renames files beneath a folder without ever following
// a symbolic link below it.
//
// Checking a path and then opening it by name leaves a gap: a folder on the way can be
// swapped for a link (renameat2 with RENAME_EXCHANGE does it atomically, in a loop) between
// the check and the open, and O_NOFOLLOW guards only the last component. Here every name is
// resolved relative to a descriptor of the folder the user named: with openat2 and
// RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS where the kernel has it
// (Linux 5.6), otherwise one component at a time with O_NOFOLLOW | O_DIRECTORY. A link met
// anywhere below the root fails with ELOOP instead of being followed, whatever is renamed
// meanwhile. The root itself is opened as named, following its links: the user chose it.
//
// On top of that, WriteFile writes a file atomically beneath a folder (a temporary file
// created with O_EXCL | O_NOFOLLOW, flushed, then linked or renamed relative to the folder's
// descriptor) and Move moves one without replacing anything.
package beneath
