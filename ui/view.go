package ui

import (
	"image"
	"image/color"
	"math"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// tool is what dragging over the preview does.
type tool int

const (
	toolMove   tool = iota // pan
	toolKeep               // paint "keep" hints
	toolRemove             // paint "remove" hints
)

// Zoom limits, in screen units per image pixel.
const (
	minZoom = 0.02
	maxZoom = 32
)

// imageView shows an image over a checkerboard, fitted or zoomed and panned, and turns
// drags into pans or brush strokes. It is clipped to its bounds (it is Scrollable: the wheel
// zooms around the pointer).
type imageView struct {
	widget.BaseWidget

	img    image.Image // nil: nothing shown
	fit    bool        // zoom follows the widget's size
	zoom   float32     // screen units per image pixel
	offset fyne.Position
	tool   tool
	brush  float32 // brush diameter in screen units

	// Handlers, called on the UI goroutine.
	onPaint     func(remove bool, from, to fpoint, radius float64) // a piece of a stroke
	onStrokeEnd func()
	onZoom      func() // the zoom changed

	dragging bool
	last     fpoint
	pointer  fyne.Position
	hover    bool
}

// newImageView returns an empty, fitted view.
func newImageView() *imageView {
	v := &imageView{fit: true, zoom: 1, brush: 24}
	v.ExtendBaseWidget(v)
	return v
}

// setImage shows img; the zoom and pan stay unless keep is false (a different photo).
func (v *imageView) setImage(img image.Image, keep bool) {
	old := v.img
	v.img = img
	if !keep || old == nil || old.Bounds().Size() != img.Bounds().Size() {
		v.fit = true
	}
	v.Refresh()
}

// fitZoom is the zoom at which the image fits the widget, at most maxFit.
func (v *imageView) fitZoom(size fyne.Size) float32 {
	if v.img == nil {
		return 1
	}
	b := v.img.Bounds()
	return float32(math.Min(float64(size.Width)/float64(b.Dx()), float64(size.Height)/float64(b.Dy())))
}

// setZoom zooms to z around the widget point at (nil: the centre).
func (v *imageView) setZoom(z float32, at *fyne.Position) {
	z = min(max(z, minZoom), maxZoom)
	size := v.Size()
	c := fyne.NewPos(size.Width/2, size.Height/2)
	if at != nil {
		c = *at
	}
	if v.fit {
		v.layoutFit(size)
	}
	// Keep the image point under c where it is.
	ix, iy := (c.X-v.offset.X)/v.zoom, (c.Y-v.offset.Y)/v.zoom
	v.fit = false
	v.zoom = z
	v.offset = fyne.NewPos(c.X-ix*z, c.Y-iy*z)
	v.Refresh()
	if v.onZoom != nil {
		v.onZoom()
	}
}

// fitToWindow returns to the fitted view.
func (v *imageView) fitToWindow() {
	v.fit = true
	v.Refresh()
	if v.onZoom != nil {
		v.onZoom()
	}
}

// layoutFit computes the zoom and offset of the fitted view.
func (v *imageView) layoutFit(size fyne.Size) {
	if v.img == nil {
		return
	}
	v.zoom = v.fitZoom(size)
	b := v.img.Bounds()
	v.offset = fyne.NewPos((size.Width-float32(b.Dx())*v.zoom)/2, (size.Height-float32(b.Dy())*v.zoom)/2)
}

// toImage converts a widget position to image pixels.
func (v *imageView) toImage(p fyne.Position) fpoint {
	return fpoint{float64((p.X - v.offset.X) / v.zoom), float64((p.Y - v.offset.Y) / v.zoom)}
}

// Scrolled zooms around the pointer (wheel, or a touchpad's pinch sent as scrolling).
func (v *imageView) Scrolled(ev *fyne.ScrollEvent) {
	if v.img == nil || ev.Scrolled.DY == 0 {
		return
	}
	f := float32(math.Pow(1.1, float64(ev.Scrolled.DY)/10)) // about 1.25× per wheel notch
	pos := ev.Position
	v.setZoom(v.zoom*f, &pos)
}

// Dragged pans, or paints with a brush tool.
func (v *imageView) Dragged(ev *fyne.DragEvent) {
	if v.img == nil {
		return
	}
	v.pointer = ev.Position
	if v.tool == toolMove {
		if v.fit {
			v.layoutFit(v.Size())
		}
		v.fit = false
		v.offset = v.offset.Add(ev.Dragged)
		v.Refresh()
		return
	}
	p := v.toImage(ev.Position)
	if !v.dragging {
		v.dragging = true
		v.last = v.toImage(ev.Position.Subtract(ev.Dragged))
	}
	if v.onPaint != nil {
		v.onPaint(v.tool == toolRemove, v.last, p, v.brushRadius())
	}
	v.last = p
	v.Refresh()
}

// DragEnd finishes a stroke.
func (v *imageView) DragEnd() {
	if v.dragging {
		v.dragging = false
		if v.onStrokeEnd != nil {
			v.onStrokeEnd()
		}
	}
}

// Tapped paints a dot with a brush tool.
func (v *imageView) Tapped(ev *fyne.PointEvent) {
	if v.img == nil || v.tool == toolMove {
		return
	}
	p := v.toImage(ev.Position)
	if v.onPaint != nil {
		v.onPaint(v.tool == toolRemove, p, p, v.brushRadius())
	}
	if v.onStrokeEnd != nil {
		v.onStrokeEnd()
	}
}

// brushRadius is the brush's radius in image pixels at the current zoom.
func (v *imageView) brushRadius() float64 { return float64(v.brush / 2 / v.zoom) }

// MouseIn shows the brush outline.
func (v *imageView) MouseIn(ev *desktop.MouseEvent) { v.hover = true; v.MouseMoved(ev) }

// MouseMoved moves the brush outline.
func (v *imageView) MouseMoved(ev *desktop.MouseEvent) {
	v.pointer = ev.Position
	if v.tool != toolMove {
		v.Refresh()
	}
}

// MouseOut hides the brush outline.
func (v *imageView) MouseOut() { v.hover = false; v.Refresh() }

// Cursor is a crosshair for the brushes, the arrow for moving.
func (v *imageView) Cursor() desktop.Cursor {
	if v.tool == toolMove {
		return desktop.DefaultCursor
	}
	return desktop.CrosshairCursor
}

// CreateRenderer builds the view's canvas objects.
func (v *imageView) CreateRenderer() fyne.WidgetRenderer {
	r := &viewRenderer{v: v, img: canvas.NewImageFromImage(nil), cursor: &canvas.Circle{StrokeWidth: 1.5}}
	r.checker = canvas.NewRaster(func(w, h int) image.Image {
		light, dark := checkerColors()
		return checker(w, h, 8, light, dark)
	})
	r.img.FillMode = canvas.ImageFillStretch
	for i := range r.frame {
		r.frame[i] = canvas.NewRectangle(theme.Color(theme.ColorNameBackground))
	}
	r.objects = []fyne.CanvasObject{r.checker, r.img, r.frame[0], r.frame[1], r.frame[2], r.frame[3], r.cursor}
	return r
}

// checkerColors are the two squares of the transparency checkerboard for the theme.
func checkerColors() (color.NRGBA, color.NRGBA) {
	r, g, b, _ := theme.Color(theme.ColorNameBackground).RGBA()
	if r+g+b < 3*0x8000 { // a dark theme
		return color.NRGBA{R: 58, G: 58, B: 62, A: 255}, color.NRGBA{R: 78, G: 78, B: 84, A: 255}
	}
	return color.NRGBA{R: 255, G: 255, B: 255, A: 255}, color.NRGBA{R: 214, G: 214, B: 218, A: 255}
}

// viewRenderer draws the checkerboard over the whole widget, the image on it, and four
// frame rectangles that hide the checkerboard outside the image.
type viewRenderer struct {
	v       *imageView
	checker *canvas.Raster
	img     *canvas.Image
	frame   [4]*canvas.Rectangle
	cursor  *canvas.Circle
	objects []fyne.CanvasObject
	shown   image.Image
	bg      color.Color // the theme background the checkerboard was made for
}

func (r *viewRenderer) Layout(size fyne.Size) {
	v := r.v
	r.checker.Resize(size)
	if v.img == nil {
		r.img.Hide()
		for _, f := range r.frame {
			f.Move(fyne.NewPos(0, 0))
			f.Resize(size)
		}
		r.cursor.Hide()
		return
	}
	if v.fit {
		v.layoutFit(size)
	}
	b := v.img.Bounds()
	pos := v.offset
	isz := fyne.NewSize(float32(b.Dx())*v.zoom, float32(b.Dy())*v.zoom)
	r.img.Show()
	r.img.Move(pos)
	r.img.Resize(isz)
	// Frame: above, below, left, right of the image, within the widget.
	top := max(0, min(size.Height, pos.Y))
	bottom := max(0, min(size.Height, pos.Y+isz.Height))
	left := max(0, min(size.Width, pos.X))
	right := max(0, min(size.Width, pos.X+isz.Width))
	place := func(f *canvas.Rectangle, x, y, w, h float32) { f.Move(fyne.NewPos(x, y)); f.Resize(fyne.NewSize(w, h)) }
	place(r.frame[0], 0, 0, size.Width, top)
	place(r.frame[1], 0, bottom, size.Width, size.Height-bottom)
	place(r.frame[2], 0, top, left, bottom-top)
	place(r.frame[3], right, top, size.Width-right, bottom-top)
	if v.tool != toolMove && v.hover {
		d := v.brush
		r.cursor.Move(fyne.NewPos(v.pointer.X-d/2, v.pointer.Y-d/2))
		r.cursor.Resize(fyne.NewSize(d, d))
		r.cursor.Show()
	} else {
		r.cursor.Hide()
	}
}

func (r *viewRenderer) MinSize() fyne.Size { return fyne.NewSize(200, 150) }

func (r *viewRenderer) Refresh() {
	bg := theme.Color(theme.ColorNameBackground)
	if bg != r.bg { // the theme changed: new checkerboard colours
		r.bg = bg
		r.checker.Refresh()
	}
	for _, f := range r.frame {
		f.FillColor = bg
		f.Refresh()
	}
	r.cursor.StrokeColor = theme.Color(theme.ColorNameForeground)
	if r.v.zoom >= 2 {
		r.img.ScaleMode = canvas.ImageScalePixels
	} else {
		r.img.ScaleMode = canvas.ImageScaleSmooth
	}
	if r.v.img != r.shown {
		r.shown = r.v.img
		r.img.Image = r.v.img
		r.img.Refresh()
	}
	r.Layout(r.v.Size())
	canvas.Refresh(r.img)
	canvas.Refresh(r.cursor)
}

func (r *viewRenderer) Objects() []fyne.CanvasObject { return r.objects }

func (r *viewRenderer) Destroy() {}
