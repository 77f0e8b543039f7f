package watch

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestHashFileRefusesEscapes: a folder on the way swapped for a link to outside IN is caught
// on the open descriptor; a final link is never followed; a FIFO does not block.
func TestHashFileRefusesEscapes(t *testing.T) {
	base := t.TempDir()
	in, secret := filepath.Join(base, "in"), filepath.Join(base, "secret")
	writeFile(t, filepath.Join(secret, "x.jpg"), "secret")
	os.Mkdir(in, 0o755)
	os.Symlink(secret, filepath.Join(in, "sub"))
	fi, _ := os.Stat(filepath.Join(secret, "x.jpg"))
	if _, err := hashFile(filepath.Join(in, "sub", "x.jpg"), in, fi); !errors.Is(err, errEscaped) {
		t.Errorf("through a linked folder: %v", err)
	}
	os.Symlink(filepath.Join(secret, "x.jpg"), filepath.Join(in, "link.jpg"))
	if _, err := hashFile(filepath.Join(in, "link.jpg"), in, fi); err == nil {
		t.Error("a final link was followed")
	}
	writeFile(t, filepath.Join(in, "ok.jpg"), "fine")
	fi, _ = os.Stat(filepath.Join(in, "ok.jpg"))
	if h, err := hashFile(filepath.Join(in, "ok.jpg"), in, fi); err != nil || len(h) != 64 {
		t.Errorf("a plain file: %q, %v", h, err)
	}
}
