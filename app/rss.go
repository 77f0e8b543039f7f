package app

import (
	"os"
	"strconv"
	"strings"
)

// EnginePeakRSS is the running engine process's peak resident set in bytes (0 if none).
func (s *Supervisor) EnginePeakRSS() int64 {
	return PeakRSS(s.pid())
}

// PeakRSS reads a process's peak resident set (VmHWM) in bytes; pid 0 means this process.
func PeakRSS(pid int) int64 {
	path := "/proc/self/status"
	if pid != 0 {
		path = "/proc/" + strconv.Itoa(pid) + "/status"
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
