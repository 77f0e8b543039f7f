package ui

import (
	_ "embed"

	"fyne.io/fyne/v2"
)

//go:embed icon.png
var iconPNG []byte

// Icon is Cutout's application icon (the same picture as assets/icon.png).
var Icon fyne.Resource = fyne.NewStaticResource("cutout.png", iconPNG)
