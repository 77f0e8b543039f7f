package watch

import (
	"fmt"
	"path/filepath"
	"slices"
	"sync"

	"cutout/internal/quote"
)

// Manager holds several hot folders for a GUI: add and remove them, switch each on and off
// (Watch.Start, Watch.Stop), and read each one's counts and recent activity.
type Manager struct {
	mu      sync.Mutex
	watches []*Watch
}

// Add creates a stopped watch for c. Two watches may not share an output folder (its
// journal belongs to one input folder at a time).
func (m *Manager) Add(c Config) (*Watch, error) {
	w, err := New(c)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, o := range m.watches {
		if filepath.Clean(o.cfg.Out) == filepath.Clean(w.cfg.Out) {
			return nil, fmt.Errorf("the output folder %s already serves the hot folder %s", quote.Name(w.cfg.Out), quote.Name(o.cfg.In))
		}
	}
	m.watches = append(m.watches, w)
	return w, nil
}

// Remove stops w and forgets it.
func (m *Manager) Remove(w *Watch) error {
	err := w.Stop()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.watches = slices.DeleteFunc(m.watches, func(o *Watch) bool { return o == w })
	return err
}

// Watches lists the watches in the order they were added.
func (m *Manager) Watches() []*Watch {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.watches)
}

// StopAll stops every watch (they stay in the list) and waits for them.
func (m *Manager) StopAll() {
	var wg sync.WaitGroup
	for _, w := range m.Watches() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.Stop()
		}()
	}
	wg.Wait()
}
