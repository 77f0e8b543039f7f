package watch

import (
	"os"
	"time"
)

// fileID is a file's identity beyond its size and modification time (see identity).
type fileID struct {
	dev, ino uint64
	ctime    time.Time
}

// sameIdentity reports whether a and b show the same inode and status-change time; where
// the system does not tell them, it reports true (size and time decide alone).
func sameIdentity(a, b os.FileInfo) bool {
	ia, oka := identity(a)
	ib, okb := identity(b)
	return !oka || !okb || (ia.dev == ib.dev && ia.ino == ib.ino && ia.ctime.Equal(ib.ctime))
}

// changedAfter reports whether fi's status changed (a write, a new modification time, a
// rename or link) after t; false where the system does not tell.
func changedAfter(fi os.FileInfo, t time.Time) bool {
	id, ok := identity(fi)
	return ok && id.ctime.After(t)
}
