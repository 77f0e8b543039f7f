package proto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"io"
	"math"
	"reflect"
	"testing"
	"time"
)

var samples = []any{
	&Hello{Version: Version, Model: "isnet-general-q8", Runtime: "1.24.1", Device: "cpu", Sandbox: []string{"landlock (ABI 7)", "no seccomp: test"}},
	&Job{ID: 7, Name: "photo.jpg", MaxBytes: 64 << 20, MaxWidth: 16384, MaxHeight: 16384, MaxPixels: 1e8, Data: []byte("\xff\xd8\xff bytes")},
	&Job{ID: 8, Name: "", Data: []byte{}},
	&Result{ID: 7, Width: 2, Height: 1, Decode: time.Millisecond, Inference: time.Second,
		Pix: []byte{1, 2, 3, 4, 5, 6, 7, 8}, Side: 2, Pred: []float32{0, 1, -2.5, float32(math.Inf(1))}},
	// 3×3 Y′CbCr 4:2:0: 9 luma bytes and 2×2 bytes for each chroma plane.
	&Result{ID: 8, Width: 3, Height: 3, Format: FormatYCbCr + uint8(image.YCbCrSubsampleRatio420),
		Pix: bytes.Repeat([]byte{9}, 9+2*4), Side: 1, Pred: []float32{0.5}},
	&Error{ID: 9, Kind: KindInvalid, Message: "refused: x.png is empty"},
}

func encode(t testing.TB, msg any) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, msg); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestRoundTrip(t *testing.T) {
	var stream bytes.Buffer
	for _, m := range samples {
		stream.Write(encode(t, m))
	}
	for _, want := range samples {
		f, err := Read(&stream)
		if err != nil {
			t.Fatal(err)
		}
		var got any
		switch {
		case f.Hello != nil:
			got = f.Hello
		case f.Job != nil:
			got = f.Job
		case f.Result != nil:
			got = f.Result
		case f.Error != nil:
			got = f.Error
		}
		if j, ok := got.(*Job); ok && len(j.Data) == 0 {
			j.Data = []byte{}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %+v, want %+v", got, want)
		}
	}
	if _, err := Read(&stream); err != io.EOF {
		t.Fatalf("after the last frame: %v, want io.EOF", err)
	}
}

// malformed lists frames a broken or hostile engine could send; each must be refused.
func malformed(t testing.TB) map[string][]byte {
	good := encode(t, samples[3])
	withLen := func(body []byte) []byte {
		return append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)
	}
	body := good[4:]
	lie := append([]byte{}, body...)
	binary.BigEndian.PutUint32(lie[1+8:], 100000) // width no longer matches the pixel bytes
	trailing := append(append([]byte{}, body...), 0)
	const format = 1 + 8 + 4 + 4 + 24 // offset of Format; Side follows it, then the blob lengths
	huge := append([]byte{}, body...)
	binary.BigEndian.PutUint32(huge[format+1+4:], 0xFFFFFFF0) // pixel blob length past the end
	badFormat := append([]byte{}, body...)
	badFormat[format] = 42 // no such pixel format
	ycc := encode(t, samples[4])[4:]
	wrongRatio := append([]byte{}, ycc...)
	wrongRatio[format] = FormatYCbCr + uint8(image.YCbCrSubsampleRatio444) // 3×3 4:4:4 needs 27 bytes, not 17
	wrongSide := append([]byte{}, body...)
	binary.BigEndian.PutUint32(wrongSide[format+1:], 3) // 3×3 values need 36 bytes, not 16
	zeroSide := append([]byte{}, body...)
	binary.BigEndian.PutUint32(zeroSide[format+1:], 0)
	bigSide := append([]byte{}, body...)
	binary.BigEndian.PutUint32(bigSide[format+1:], MaxSide+1)
	badKind := append([]byte{}, encode(t, samples[5])[4:]...)
	badKind[9] = 77
	return map[string][]byte{
		"zero length":    {0, 0, 0, 0},
		"over the cap":   binary.BigEndian.AppendUint32(nil, MaxFrame+1),
		"cut short":      good[:len(good)-3],
		"half a length":  {0, 0},
		"unknown type":   withLen([]byte{99, 1, 2, 3}),
		"lying size":     withLen(lie),
		"trailing bytes": withLen(trailing),
		"blob past end":  withLen(huge),
		"bad error kind": withLen(badKind),
		"bad format":     withLen(badFormat),
		"wrong ratio":    withLen(wrongRatio),
		"wrong side":     withLen(wrongSide),
		"zero side":      withLen(zeroSide),
		"side over cap":  withLen(bigSide),
	}
}

func TestMalformedFramesAreRefused(t *testing.T) {
	for name, frame := range malformed(t) {
		_, err := Read(bytes.NewReader(frame))
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}

// FuzzDecode: no input makes the decoder panic or allocate past the frame, and whatever it
// accepts re-encodes to the same bytes.
func FuzzDecode(f *testing.F) {
	for _, m := range samples {
		f.Add(encode(f, m)[4:])
	}
	for _, frame := range malformed(f) {
		if len(frame) > 4 {
			f.Add(frame[4:])
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fr, err := Decode(body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error not wrapping ErrMalformed: %v", err)
			}
			return
		}
		var msg any
		switch {
		case fr.Hello != nil:
			msg = fr.Hello
		case fr.Job != nil:
			msg = fr.Job
		case fr.Result != nil:
			msg = fr.Result
		case fr.Error != nil:
			msg = fr.Error
		default:
			t.Fatal("decoded frame with no message")
		}
		if again := encode(t, msg)[4:]; !bytes.Equal(again, body) {
			t.Fatalf("re-encoded %x, want %x", again, body)
		}
	})
}

func BenchmarkWriteRead12MP(b *testing.B) {
	r := &Result{ID: 1, Width: 4000, Height: 3000, Pix: make([]byte, 4*12e6), Side: 1024, Pred: make([]float32, 1024*1024)}
	var buf bytes.Buffer
	b.SetBytes(int64(len(r.Pix) + 4*len(r.Pred)))
	for i := 0; i < b.N; i++ {
		buf.Reset()
		if err := Write(&buf, r); err != nil {
			b.Fatal(err)
		}
		if _, err := Read(&buf); err != nil {
			b.Fatal(err)
		}
	}
}
