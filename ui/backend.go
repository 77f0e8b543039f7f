package ui

import (
	"context"
	"image"

	"cutout/engine/matte"
)

// Backend is what the window needs from the rest of Cutout (implemented by package app).
// Every method may be called from any goroutine; errors are sentences a person can act on,
// naming the file.
type Backend interface {
	// Cut validates the file at path and runs the model on it, blocking until done or ctx
	// ends. It calls validated (if not nil) once the file passed validation.
	Cut(ctx context.Context, path string, validated func()) (*Cutout, error)
	// Expand turns dropped or opened files and folders into the image files to cut out
	// (folders recursively); problems walking a folder come back as errors.
	Expand(paths []string) ([]string, []error)
	// Extensions lists the file extensions the engine accepts (".png", ...), for dialogs.
	Extensions() []string
	// Export finishes a photo — img as Cut returned it, mask at its full size, the brush
	// hints at its full size (or nil) — with o, by the same finishing step as `cutout remove`,
	// and writes it in the format and framing f into dir under name with its extension
	// replaced by the format's,
	// atomically. With replace a file of that name (the photo's own earlier export) is
	// replaced; otherwise nothing is, and a free name is chosen. img and mask are not
	// changed. It returns the path written.
	Export(img image.Image, mask *image.Gray, hints *matte.Hints, o matte.Options, f ExportFormat, dir, name string, replace bool) (string, error)
	// Models lists the names of the installed models.
	Models() []string
	// Defaults returns the engine settings used when the user has chosen none.
	Defaults() EngineSettings
	// Apply makes later Cuts use s (restarting the engine if needed); running Cuts finish
	// with the settings they started with.
	Apply(s EngineSettings) error
}

// Cutout is what Backend.Cut returns: a photo and the model's mask of it.
type Cutout struct {
	// Image is the upright full-resolution photo: an *image.NRGBA, or a JPEG's *image.YCbCr
	// as decoded, with its origin at (0,0).
	Image image.Image
	// Mask makes the model's mask at w × h: the photo's size for the mask an export applies,
	// a smaller one for the preview. Safe for concurrent use.
	Mask func(w, h int) *image.Gray
	// MaskBytes is the memory Mask holds on to.
	MaskBytes int64
}

// EngineSettings are the settings the backend needs: the model, its threads and the
// validation limits.
type EngineSettings struct {
	// Model is a model name from Backend.Models; empty means the manifest's default.
	Model string
	// Threads is the engine's inference thread count; 0 means one per core.
	Threads int
	// MaxMB refuses files larger than this many MiB.
	MaxMB int
	// MaxSide refuses images wider or taller than this many pixels.
	MaxSide int
	// MaxMegapixels refuses images with more megapixels than this.
	MaxMegapixels float64
}

// ExportFormat is the file format and framing of an export, as a hot folder's are chosen:
// Format "png", "webp" or "jpeg"; Frame "", "crop" or "square" (see HotFolderConfig).
type ExportFormat struct {
	Format, Frame string
}

// Ext is the extension of the format's files.
func (f ExportFormat) Ext() string {
	switch f.Format {
	case "webp":
		return ".webp"
	case "jpeg":
		return ".jpg"
	}
	return ".png"
}
