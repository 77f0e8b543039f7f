package ui

import (
	"bytes"
	"flag"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"
)

var updateIcon = flag.Bool("update-icon", false, "draw the icons again into ui/ and ../assets/")

// iconFiles are the icon's sizes and where they go (relative to ui/).
var iconFiles = []struct {
	size int
	path string
}{
	{512, "icon.png"},
	{512, "../assets/icon.png"},
	{256, "../assets/icons/256x256/cutout.png"},
	{128, "../assets/icons/128x128/cutout.png"},
	{64, "../assets/icons/64x64/cutout.png"},
	{48, "../assets/icons/48x48/cutout.png"},
}

// TestIcon checks that the committed icons are the ones drawIcon makes (go test ./ui -run
// TestIcon -update-icon draws them again).
func TestIcon(t *testing.T) {
	for _, f := range iconFiles {
		var buf bytes.Buffer
		if err := png.Encode(&buf, drawIcon(f.size)); err != nil {
			t.Fatal(err)
		}
		if *updateIcon {
			if err := os.MkdirAll(filepath.Dir(f.path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(f.path, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(f.path)
		if err != nil {
			t.Fatalf("%v (run go test ./ui -run TestIcon -update-icon)", err)
		}
		if !bytes.Equal(got, buf.Bytes()) {
			t.Errorf("%s is not the icon drawIcon makes (run go test ./ui -run TestIcon -update-icon)", f.path)
		}
	}
}

// drawIcon draws the icon at size × size: a rounded tile whose left half is the
// transparency checkerboard and right half a teal-to-indigo gradient, with a white bust
// cut out across both, supersampled 4× for smooth edges.
func drawIcon(size int) *image.NRGBA {
	const ss = 4
	n := size * ss
	big := image.NewNRGBA(image.Rect(0, 0, n, n))
	u := float64(n) / 512 // design units: 512 per side
	inTile := func(x, y float64) bool {
		m, r := 24*u, 104*u // margin, corner radius
		cx := math.Max(m+r, math.Min(float64(n)-m-r, x))
		cy := math.Max(m+r, math.Min(float64(n)-m-r, y))
		return x >= m && x <= float64(n)-m && y >= m && y <= float64(n)-m && (x-cx)*(x-cx)+(y-cy)*(y-cy) <= r*r
	}
	inBust := func(x, y float64) bool {
		hx, hy, hr := 256*u, 210*u, 78*u // head
		if (x-hx)*(x-hx)+(y-hy)*(y-hy) <= hr*hr {
			return true
		}
		// Shoulders: the top half of an ellipse, cut by the tile's bottom edge.
		sx, sy, rx, ry := 256*u, 500*u, 160*u, 190*u
		return y <= sy && ((x-sx)/rx)*((x-sx)/rx)+((y-sy)/ry)*((y-sy)/ry) <= 1
	}
	lerp := func(a, b uint8, t float64) uint8 { return uint8(math.Round(float64(a) + (float64(b)-float64(a))*t)) }
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			fx, fy := float64(x)+0.5, float64(y)+0.5
			if !inTile(fx, fy) {
				continue
			}
			var c color.NRGBA
			switch {
			case inBust(fx, fy):
				c = color.NRGBA{R: 255, G: 255, B: 255, A: 255}
			case fx < 256*u:
				c = color.NRGBA{R: 236, G: 238, B: 242, A: 255}
				if (int(fx/(48*u))+int(fy/(48*u)))%2 == 1 {
					c = color.NRGBA{R: 196, G: 200, B: 210, A: 255}
				}
			default:
				t := fy / float64(n)
				c = color.NRGBA{R: lerp(20, 79, t), G: lerp(184, 70, t), B: lerp(166, 229, t), A: 255}
			}
			// The cut: a thin dark line down the middle, outside the bust.
			if math.Abs(fx-256*u) < 3*u && !inBust(fx, fy) {
				c = color.NRGBA{R: 30, G: 41, B: 59, A: 255}
			}
			big.SetNRGBA(x, y, c)
		}
	}
	// Premultiply before reducing so the transparent border does not darken the edge.
	for i := 0; i < len(big.Pix); i += 4 {
		a := uint32(big.Pix[i+3])
		for c := 0; c < 3; c++ {
			big.Pix[i+c] = uint8(uint32(big.Pix[i+c]) * a / 255)
		}
	}
	small := resizeNRGBA(big, size, size)
	for i := 0; i < len(small.Pix); i += 4 {
		if a := uint32(small.Pix[i+3]); a > 0 {
			for c := 0; c < 3; c++ {
				small.Pix[i+c] = uint8(min(255, (uint32(small.Pix[i+c])*255+a/2)/a))
			}
		}
	}
	return small
}
