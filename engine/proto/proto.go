package proto

import (
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"time"
)

// Version is the protocol version; both sides must agree.
const Version = 4

// MaxFrame caps a frame's length: a 100-megapixel result in RGBA fits.
const MaxFrame = 600 << 20

// Type identifies a frame.
type Type uint8

// The frame types.
const (
	TypeHello  Type = 1 // engine → app, once, after the model loaded
	TypeJob    Type = 2 // app → engine
	TypeResult Type = 3 // engine → app
	TypeError  Type = 4 // engine → app: the job failed, the engine lives on
)

// ErrMalformed means a frame broke the protocol; the connection cannot be trusted after it.
var ErrMalformed = errors.New("malformed engine frame")

// Hello is the engine's first frame.
type Hello struct {
	Version uint32
	Model   string
	Runtime string // ONNX Runtime version
	Device  string // "cpu" or "cuda"
	// Sandbox lists the engine's confinement layers, one line each: "name (detail)" for an
	// active one, "no name: reason" for one this machine lacks.
	Sandbox []string
}

// Job asks the engine to cut out one image.
type Job struct {
	ID   uint64
	Name string // base name, for messages only; never opened
	// Caps the engine re-checks before decoding.
	MaxBytes  int64
	MaxWidth  uint32
	MaxHeight uint32
	MaxPixels int64
	Data      []byte
}

// Result is a decoded, upright image and the model's prediction for it: Side×Side raw
// values, row by row, before normalisation (the app makes the mask at the size it needs: the
// photo's for an export, a preview's).
type Result struct {
	ID            uint64
	Width, Height uint32
	Decode        time.Duration
	Preprocess    time.Duration
	Inference     time.Duration
	// Format says how Pix holds the colours: FormatNRGBA (4·W·H bytes) or, for JPEG's
	// colour model, FormatYCbCr+ratio: the Y plane (W·H), then Cb and Cr, each ChromaSize.
	Format uint8
	Pix    []byte
	// PixParts, when set, is written in place of Pix: the parts one after another (so an
	// engine can send its image planes without joining them). Read always fills Pix.
	PixParts [][]byte
	Side     uint32
	Pred     []float32 // Side·Side
}

// MaxSide caps a Result's Side: every model's input is far smaller.
const MaxSide = 4096

// The pixel formats of a Result.
const (
	FormatNRGBA = 0
	// FormatYCbCr + r is Y′CbCr with image.YCbCrSubsampleRatio r (444 … 410).
	FormatYCbCr = 1
)

// ChromaSize is the width and height of each chroma plane of a w×h Y′CbCr image with
// subsample ratio r (as image.NewYCbCr lays them out for a rectangle at the origin).
func ChromaSize(w, h int, r image.YCbCrSubsampleRatio) (cw, ch int, ok bool) {
	switch r {
	case image.YCbCrSubsampleRatio444:
		return w, h, true
	case image.YCbCrSubsampleRatio422:
		return (w + 1) / 2, h, true
	case image.YCbCrSubsampleRatio420:
		return (w + 1) / 2, (h + 1) / 2, true
	case image.YCbCrSubsampleRatio440:
		return w, (h + 1) / 2, true
	case image.YCbCrSubsampleRatio411:
		return (w + 3) / 4, h, true
	case image.YCbCrSubsampleRatio410:
		return (w + 3) / 4, (h + 1) / 2, true
	}
	return 0, 0, false
}

// PixBytes is how many bytes Pix holds for a w×h result in format f (false: no such format).
func PixBytes(w, h uint32, f uint8) (uint64, bool) {
	px := uint64(w) * uint64(h)
	if f == FormatNRGBA {
		return 4 * px, true
	}
	cw, ch, ok := ChromaSize(int(w), int(h), image.YCbCrSubsampleRatio(f-FormatYCbCr))
	if !ok {
		return 0, false
	}
	return px + 2*uint64(cw)*uint64(ch), true
}

// ErrorKind classifies an engine-side failure.
type ErrorKind uint8

// The error kinds.
const (
	KindInvalid  ErrorKind = 1 // the image was refused or could not be decoded
	KindInternal ErrorKind = 2 // the engine failed (inference error, …)
)

// Error reports a failed job.
type Error struct {
	ID      uint64
	Kind    ErrorKind
	Message string
}

// Frame is one decoded frame: exactly one field is set.
type Frame struct {
	Hello  *Hello
	Job    *Job
	Result *Result
	Error  *Error
}

// Write encodes one message (a *Hello, *Job, *Result or *Error) as a frame.
func Write(w io.Writer, msg any) error {
	var e enc
	switch m := msg.(type) {
	case *Hello:
		e.u8(uint8(TypeHello))
		e.u32(m.Version)
		e.str(m.Model)
		e.str(m.Runtime)
		e.str(m.Device)
		e.u32(uint32(len(m.Sandbox)))
		for _, l := range m.Sandbox {
			e.str(l)
		}
	case *Job:
		e.u8(uint8(TypeJob))
		e.u64(m.ID)
		e.str(m.Name)
		e.u64(uint64(m.MaxBytes))
		e.u32(m.MaxWidth)
		e.u32(m.MaxHeight)
		e.u64(uint64(m.MaxPixels))
		e.blob(m.Data)
	case *Result:
		e.u8(uint8(TypeResult))
		e.u64(m.ID)
		e.u32(m.Width)
		e.u32(m.Height)
		for _, d := range []time.Duration{m.Decode, m.Preprocess, m.Inference} {
			e.u64(uint64(d))
		}
		e.u8(m.Format)
		e.u32(m.Side)
		if m.PixParts != nil {
			e.blob(m.PixParts...)
		} else {
			e.blob(m.Pix)
		}
		pred := make([]byte, 4*len(m.Pred))
		for i, v := range m.Pred {
			binary.LittleEndian.PutUint32(pred[4*i:], math.Float32bits(v))
		}
		e.blob(pred)
	case *Error:
		e.u8(uint8(TypeError))
		e.u64(m.ID)
		e.u8(uint8(m.Kind))
		e.str(m.Message)
	default:
		return fmt.Errorf("proto: cannot encode %T", msg)
	}
	if len(e.head)+e.tail > MaxFrame {
		return fmt.Errorf("proto: frame of %d bytes is over the %d-byte limit", len(e.head)+e.tail, MaxFrame)
	}
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(e.head)+e.tail))
	if _, err := w.Write(n[:]); err != nil {
		return err
	}
	if _, err := w.Write(e.head); err != nil {
		return err
	}
	for _, b := range e.blobs {
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// enc collects a frame's fixed fields in head; large byte fields (blobs) are written after
// it without copying: their lengths are in head, their bytes follow head in order, so blobs
// must be the last fields of a message.
type enc struct {
	head  []byte
	blobs [][]byte
	tail  int
}

func (e *enc) u8(v uint8)   { e.head = append(e.head, v) }
func (e *enc) u32(v uint32) { e.head = binary.BigEndian.AppendUint32(e.head, v) }
func (e *enc) u64(v uint64) { e.head = binary.BigEndian.AppendUint64(e.head, v) }
func (e *enc) str(s string) {
	e.u32(uint32(len(s)))
	e.head = append(e.head, s...)
}
func (e *enc) blob(parts ...[]byte) {
	n := 0
	for _, b := range parts {
		n += len(b)
	}
	e.u32(uint32(n))
	e.blobs = append(e.blobs, parts...)
	e.tail += n
}

// Read reads and decodes one frame. io.EOF means the stream ended cleanly between frames;
// any error wrapping ErrMalformed means the peer broke the protocol.
func Read(r io.Reader) (*Frame, error) {
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: stream ended inside a frame length", ErrMalformed)
		}
		return nil, err
	}
	size := binary.BigEndian.Uint32(n[:])
	if size == 0 || size > MaxFrame {
		return nil, fmt.Errorf("%w: frame length %d", ErrMalformed, size)
	}
	body := make([]byte, size)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, fmt.Errorf("%w: stream ended inside a frame: %v", ErrMalformed, err)
	}
	return Decode(body)
}

// Decode decodes one frame body (everything after the length).
func Decode(body []byte) (*Frame, error) {
	d := dec{b: body}
	t := Type(d.u8())
	var f Frame
	switch t {
	case TypeHello:
		h := &Hello{Version: d.u32(), Model: d.str(), Runtime: d.str(), Device: d.str()}
		n := d.u32()
		if n > maxLayers {
			d.fail(fmt.Sprintf("%d sandbox layers", n))
		}
		for i := uint32(0); i < n && d.err == nil; i++ {
			h.Sandbox = append(h.Sandbox, d.str())
		}
		f.Hello = h
	case TypeJob:
		j := &Job{ID: d.u64(), Name: d.str()}
		j.MaxBytes = int64(d.u64())
		j.MaxWidth, j.MaxHeight = d.u32(), d.u32()
		j.MaxPixels = int64(d.u64())
		j.Data = d.take(uint64(d.u32()))
		if d.err == nil && (j.MaxBytes < 0 || j.MaxPixels < 0) {
			d.fail("negative limit")
		}
		f.Job = j
	case TypeResult:
		r := &Result{ID: d.u64(), Width: d.u32(), Height: d.u32()}
		r.Decode, r.Preprocess, r.Inference = d.dur(), d.dur(), d.dur()
		r.Format, r.Side = d.u8(), d.u32()
		// Blob lengths come first, their bytes after every fixed field (see enc).
		nPix, nPred := d.u32(), d.u32()
		r.Pix = d.take(uint64(nPix))
		pred := d.take(uint64(nPred))
		if d.err == nil {
			want, ok := PixBytes(r.Width, r.Height, r.Format)
			switch {
			case !ok:
				d.fail(fmt.Sprintf("unknown pixel format %d", r.Format))
			case r.Width == 0 || r.Height == 0 || uint64(len(r.Pix)) != want:
				d.fail(fmt.Sprintf("result of %d×%d in format %d carries %d pixel bytes", r.Width, r.Height, r.Format, len(r.Pix)))
			case r.Side == 0 || r.Side > MaxSide || uint64(len(pred)) != 4*uint64(r.Side)*uint64(r.Side):
				d.fail(fmt.Sprintf("prediction of side %d carries %d bytes", r.Side, len(pred)))
			default:
				r.Pred = make([]float32, r.Side*r.Side)
				for i := range r.Pred {
					r.Pred[i] = math.Float32frombits(binary.LittleEndian.Uint32(pred[4*i:]))
				}
			}
		}
		f.Result = r
	case TypeError:
		e := &Error{ID: d.u64(), Kind: ErrorKind(d.u8()), Message: d.str()}
		if d.err == nil && e.Kind != KindInvalid && e.Kind != KindInternal {
			d.fail(fmt.Sprintf("unknown error kind %d", e.Kind))
		}
		f.Error = e
	default:
		return nil, fmt.Errorf("%w: unknown frame type %d", ErrMalformed, t)
	}
	if d.err == nil && d.off != len(d.b) {
		d.fail(fmt.Sprintf("%d trailing bytes", len(d.b)-d.off))
	}
	if d.err != nil {
		return nil, d.err
	}
	return &f, nil
}

// maxLayers caps a hello's sandbox lines.
const maxLayers = 64

// maxString caps text fields (names, messages, versions).
const maxString = 64 << 10

type dec struct {
	b   []byte
	off int
	err error
}

func (d *dec) fail(why string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrMalformed, why)
	}
}

func (d *dec) take(n uint64) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)-d.off) {
		d.fail("field runs past the end of the frame")
		return nil
	}
	s := d.b[d.off : d.off+int(n) : d.off+int(n)]
	d.off += int(n)
	return s
}

func (d *dec) u8() uint8 {
	if b := d.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (d *dec) u32() uint32 {
	if b := d.take(4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

func (d *dec) u64() uint64 {
	if b := d.take(8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

func (d *dec) dur() time.Duration {
	v := d.u64()
	if v > uint64(24*time.Hour) {
		d.fail("duration out of range")
	}
	return time.Duration(v)
}

func (d *dec) str() string {
	n := d.u32()
	if n > maxString {
		d.fail(fmt.Sprintf("text field of %d bytes", n))
		return ""
	}
	return string(d.take(uint64(n)))
}
