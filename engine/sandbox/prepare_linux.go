package sandbox

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Namespaces the app may give the engine, by their /proc/self/ns names.
var namespaceNames = []string{"user", "pid", "mnt", "ipc", "uts", "net"}

// Prepare is the engine's first step, before it reads a model or an image. parentNS maps a
// namespace name ("user", "pid", "mnt", "ipc", "uts", "net") to the inode of the app's own
// (ParentNamespaces gives them), so that the engine can report which namespaces really are
// its own rather than what was asked for.
func Prepare(memLimit uint64, parentNS map[string]uint64) (*Report, error) {
	r := &Report{}
	// Whatever started the app may have left descriptors open without close-on-exec, and
	// the app's GUI libraries may open some: none of them may reach code that reads images.
	if err := closeInherited(); err != nil {
		return nil, fmt.Errorf("closing inherited descriptors: %w", err)
	}
	r.active("descriptors", "stdin, stdout and stderr only")
	if sid, err := unix.Getsid(0); err == nil && sid == os.Getpid() {
		r.active("session", "its own, no controlling terminal")
	} else if _, err := unix.Setsid(); err == nil {
		r.active("session", "its own, no controlling terminal")
	} else {
		r.missing("session", "could not leave the app's session ("+err.Error()+")")
	}
	namespaces(r, parentNS)
	if memLimit > 0 {
		lim := unix.Rlimit{Cur: memLimit, Max: memLimit}
		if err := unix.Setrlimit(unix.RLIMIT_AS, &lim); err != nil {
			return nil, fmt.Errorf("setting the engine's memory limit: %w", err)
		}
		r.active("memory", fmt.Sprintf("address space ≤ %d MiB", memLimit>>20))
	}
	// No core file: a crash must not write the engine's memory (the images) to disk.
	_ = unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{})
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return nil, fmt.Errorf("no_new_privs: %w", err)
	}
	return r, nil
}

// closeInherited closes every descriptor from 3 up that names a file, pipe, socket or
// terminal. The Go runtime's own, made before main, are kept: closing them would break it
// (its poller's epoll and eventfd are anonymous inodes; the cgroup file it re-reads for its
// CPU quota unless GODEBUG says otherwise, as the app's does).
func closeInherited() error {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return err
	}
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd < 3 {
			continue
		}
		target, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil || strings.HasPrefix(target, "anon_inode:") || strings.HasPrefix(target, "/sys/fs/cgroup/") {
			continue // gone (ReadDir's own descriptor), or the runtime's
		}
		unix.Close(fd)
	}
	return nil
}

// ParentNamespaces is the inode of each of this process's namespaces, for the app to pass to
// the engine it starts (see Prepare).
func ParentNamespaces() map[string]uint64 {
	out := map[string]uint64{}
	for _, name := range namespaceNames {
		if ino, err := nsInode("/proc/self/ns/" + name); err == nil {
			out[name] = ino
		}
	}
	return out
}

// FormatNamespaces and ParseNamespaces carry ParentNamespaces on a command line.
func FormatNamespaces(ns map[string]uint64) string {
	var parts []string
	for _, name := range namespaceNames {
		if ino, ok := ns[name]; ok {
			parts = append(parts, name+":"+strconv.FormatUint(ino, 10))
		}
	}
	return strings.Join(parts, ",")
}

// ParseNamespaces is the inverse of FormatNamespaces; unknown or malformed parts are skipped.
func ParseNamespaces(s string) map[string]uint64 {
	out := map[string]uint64{}
	for _, part := range strings.Split(s, ",") {
		name, ino, ok := strings.Cut(part, ":")
		if n, err := strconv.ParseUint(ino, 10, 64); ok && err == nil {
			out[name] = n
		}
	}
	return out
}

func nsInode(path string) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}

// namespaces reports each namespace the engine does not share with the app.
func namespaces(r *Report, parent map[string]uint64) {
	var own, shared []string
	for _, name := range namespaceNames {
		ino, err := nsInode("/proc/self/ns/" + name)
		p, known := parent[name]
		switch {
		case err != nil || !known:
			shared = append(shared, name+" (unknown)")
		case ino != p:
			own = append(own, name)
		default:
			shared = append(shared, name)
		}
	}
	if len(own) > 0 {
		detail := strings.Join(own, ", ")
		if m := uidMap(); m != "" {
			detail += "; ids " + m
		}
		r.active("namespaces", detail)
	}
	if len(shared) > 0 {
		r.missing("own namespaces", "shares "+strings.Join(shared, ", ")+" with the app")
	}
}

// uidMap is the engine's uid_map in one line ("0→0, 65534→65534"), or "".
func uidMap() string {
	data, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return ""
	}
	var parts []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 {
			if f[2] == "4294967295" {
				return "" // the initial user namespace: no mapping of its own
			}
			parts = append(parts, f[0]+"→"+f[1])
		}
	}
	return strings.Join(parts, ", ")
}
