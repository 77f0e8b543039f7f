//go:build linux

package watch

import (
	"os"
	"syscall"
	"time"
)

// identity is what, beyond size and modification time, tells one version of a file from
// another: the inode (a file replaced by a rename is another inode) and the status-change
// time, which the system sets on every write and on every change of the modification time,
// so a `cp -p` or `touch -r` that restores an old time still shows.
func identity(fi os.FileInfo) (id fileID, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{dev: uint64(st.Dev), ino: st.Ino, ctime: time.Unix(st.Ctim.Sec, st.Ctim.Nsec)}, true
}
