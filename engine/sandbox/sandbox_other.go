//go:build !linux

package sandbox

// Prepare only reports, off Linux: the engine runs as a plain child process there.
func Prepare(memLimit uint64, parentNS map[string]uint64) (*Report, error) {
	r := &Report{}
	r.missing("confinement", "only Linux confines the engine; here it is a plain child process")
	return r, nil
}

// Lockdown does nothing off Linux.
func (r *Report) Lockdown(gpu bool) error { return nil }

// ParentNamespaces is empty off Linux.
func ParentNamespaces() map[string]uint64 { return nil }

// FormatNamespaces is empty off Linux.
func FormatNamespaces(map[string]uint64) string { return "" }

// ParseNamespaces is empty off Linux.
func ParseNamespaces(string) map[string]uint64 { return nil }

// LandlockABI is 0 off Linux.
func LandlockABI() int { return 0 }
