package sandbox

import (
	"fmt"
	"os"
	"unsafe"

	seccomp "github.com/elastic/go-seccomp-bpf"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// installAllowlist installs the allowlist on every thread (TSYNC). clone3 fails with ENOSYS
// rather than EPERM: its flags sit behind a pointer the filter cannot read, and ENOSYS is what
// makes glibc fall back to clone, whose flags it can.
func installAllowlist(names []string) error {
	prog, err := allowlistProgram(names, os.Getpid())
	if err != nil {
		return err
	}
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return err
	}
	filter := make([]unix.SockFilter, len(raw))
	for i, in := range raw {
		filter[i] = unix.SockFilter{Code: in.Op, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	fprog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	tid, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC,
		uintptr(unsafe.Pointer(&fprog)))
	switch {
	case e != 0:
		return e
	case tid != 0:
		return fmt.Errorf("thread %d could not take the filter", tid)
	}
	return nil
}

// allowlistProgram is the filter: a clone3 prefix, then go-seccomp-bpf's program for the
// allowlist (which refuses foreign ABIs and x32, and answers EPERM to anything not listed).
func allowlistProgram(names []string, pid int) ([]bpf.Instruction, error) {
	conds := allowlistConditions(pid)
	group := seccomp.SyscallGroup{Action: seccomp.ActionAllow}
	for _, name := range names {
		cs, ok := conds[name]
		if !ok {
			group.Names = append(group.Names, name)
			continue
		}
		var args seccomp.ArgumentConditions
		for _, c := range cs {
			if c.isEqual {
				args = append(args, seccomp.Condition{Argument: c.arg, Operation: seccomp.Equal, Value: c.equal})
			} else {
				args = append(args, seccomp.Condition{Argument: c.arg, Operation: seccomp.BitsSet, Value: c.bitsSet})
			}
		}
		group.NamesWithCondtions = append(group.NamesWithCondtions, seccomp.NameWithConditions{Name: name, Conditions: args})
	}
	policy := seccomp.Policy{DefaultAction: seccomp.ActionErrno, Syscalls: []seccomp.SyscallGroup{group}}
	body, err := policy.Assemble()
	if err != nil {
		return nil, err
	}
	const archOff, nrOff = 4, 0
	prefix := []bpf.Instruction{
		bpf.LoadAbsolute{Off: archOff, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: auditArch, SkipTrue: 3},
		bpf.LoadAbsolute{Off: nrOff, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: uint32(unix.SYS_CLONE3), SkipTrue: 1},
		bpf.RetConstant{Val: unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)},
	}
	return append(prefix, body...), nil
}
