// Command cutout removes image backgrounds locally: a desktop app, a command line and a
// hot-folder service around U²-Net/ISNet models run by ONNX Runtime.
package main

import (
	"os"

	_ "cutout/internal/localefix" // before Fyne reads the locale

	"cutout/app"
)

func main() {
	os.Exit(app.Run())
}
