package onnxgraph

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// halfModel is a small valid float16 model: y = float(half(x) + w + c), with w a float16
// initializer in raw_data, c a Constant node's float16 tensor in int32_data, and a float16
// value_info entry. For x = [1, 2] it gives [3, 4.5] in float16 and in float32 alike.
func halfModel() []byte {
	const float, half = onnxFloat, onnxFloat16
	typ := func(elem int) []byte { return msg(1, msg(1, elem, 2, msg(1, msg(1, 2)))) }
	value := func(name string, elem int) []byte { return msg(1, name, 2, typ(elem)) }
	w := msg(1, 2, 2, half, 8, "w", 9, []byte{0x00, 0x3e, 0x80, 0x40}) // 1.5, 2.25
	c := msg(1, 2, 2, half)
	c = protowire.AppendTag(c, 5, protowire.BytesType)
	c = protowire.AppendBytes(c, protowire.AppendVarint(protowire.AppendVarint(nil, 0x3800), 0x3400)) // 0.5, 0.25
	attr := func(name string, kv ...any) []byte { return msg(append([]any{1, name}, kv...)...) }
	graph := msg(
		1, msg(1, "x", 2, "xh", 4, "Cast", 5, attr("to", 3, half, 20, 2)),
		1, msg(2, "c", 4, "Constant", 5, attr("value", 5, c, 20, 4)),
		1, msg(1, "xh", 1, "w", 2, "s1", 4, "Add"),
		1, msg(1, "s1", 1, "c", 2, "s2", 4, "Add"),
		1, msg(1, "s2", 2, "y", 4, "Cast", 5, attr("to", 3, float, 20, 2)),
		2, "half", 5, w,
		11, value("x", float), 12, value("y", float), 13, value("xh", half))
	return msg(1, 7, 2, "cutout-test", 7, graph, 8, msg(1, "", 2, 13))
}

// runTiny runs a model with one float input x and one float output y, both of len(x) values.
func runTiny(t *testing.T, data []byte, x []float32) []float32 {
	t.Helper()
	return runOutput(t, data, "y", x)
}

// halfLeft counts what is still float16 in a model's graph: constants, declared types and
// the element types named by node attributes.
func halfLeft(t *testing.T, data []byte) int {
	t.Helper()
	n := 0
	isHalf := func(f field, num protowire.Number) bool {
		return f.num == num && f.typ == protowire.VarintType && f.u == onnxFloat16
	}
	tensor := func(b []byte) {
		walk(b, func(f field) error {
			if isHalf(f, tensorDataType) {
				n++
			}
			return nil
		})
	}
	g, err := bytesField(data, modelGraph)
	if err != nil {
		t.Fatal(err)
	}
	err = walk(g, func(f field) error {
		switch f.num {
		case graphInitializer:
			tensor(f.val)
		case graphInput, graphOutput, graphValueInfo:
			typ, _ := bytesField(f.val, valueInfoType)
			tt, _ := bytesField(typ, typeTensor)
			walk(tt, func(f field) error {
				if isHalf(f, elemType) {
					n++
				}
				return nil
			})
		case graphNode:
			walk(f.val, func(f field) error {
				if f.num != nodeAttribute {
					return nil
				}
				return walk(f.val, func(f field) error {
					switch {
					case isHalf(f, attrI):
						n++
					case f.num == attrT:
						tensor(f.val)
					}
					return nil
				})
			})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestWidenTinyModel(t *testing.T) {
	orig := halfModel()
	wide, changed, err := Widen(orig)
	if err != nil || !changed {
		t.Fatalf("widen: changed %v, %v", changed, err)
	}
	if n := halfLeft(t, orig); n != 4 { // w, c, the cast to float16 and xh
		t.Fatalf("the test model has %d float16 things, want 4", n)
	}
	if n := halfLeft(t, wide); n != 0 {
		t.Errorf("%d float16 things left after widening", n)
	}
	x := []float32{1, 2}
	want := runTiny(t, orig, x)
	if !slices.Equal(want, []float32{3, 4.5}) {
		t.Fatalf("the float16 model gives %v, want [3 4.5]", want)
	}
	if got := runTiny(t, wide, x); !slices.Equal(got, want) {
		t.Errorf("widened model gives %v, the float16 one %v", got, want)
	}
	in, out, err := IO(wide)
	if err != nil || !slices.Equal(in, []string{"x"}) || !slices.Equal(out, []string{"y"}) {
		t.Errorf("widened model's I/O: %v → %v, %v", in, out, err)
	}
	if again, changed, err := Widen(wide); err != nil || changed || &again[0] != &wide[0] {
		t.Errorf("widening twice: changed %v, %v", changed, err)
	}
}

func TestWidenLeavesWhatItCannot(t *testing.T) {
	float32Model := tinyModel(false)
	if out, changed, err := Widen(float32Model); err != nil || changed || &out[0] != &float32Model[0] {
		t.Errorf("a float32 model: changed %v, %v", changed, err)
	}
	external := msg(7, msg(5, msg(1, 2, 2, onnxFloat16, 8, "w", 14, 1)))
	sparse := msg(7, msg(15, msg(1, msg(8, "s"))))
	functions := msg(7, msg(2, "g"), 25, msg(1, "f"))
	for name, data := range map[string][]byte{"external data": external, "sparse": sparse, "functions": functions} {
		if _, _, err := Widen(data); !errors.Is(err, errCannotWiden) {
			t.Errorf("%s: %v, want errCannotWiden", name, err)
		}
	}
	if _, _, err := Widen([]byte("not a model")); err == nil || errors.Is(err, errCannotWiden) {
		t.Errorf("text: %v, want a parse error", err)
	}
}

// Every float16 bit pattern becomes the float32 of the same value, in the table and in the
// conversion of whole tensors.
func TestHalfToFloatBits(t *testing.T) {
	src := make([]byte, 2<<16)
	for h := range 1 << 16 {
		binary.LittleEndian.PutUint16(src[2*h:], uint16(h))
	}
	dst := make([]byte, 2*len(src))
	halvesToFloats(dst, src)
	for h := range 1 << 16 {
		if got := binary.LittleEndian.Uint32(dst[4*h:]); got != halfBits(uint16(h)) {
			t.Fatalf("%#04x: halvesToFloats %#08x, table %#08x", h, got, halfBits(uint16(h)))
		}
	}
	for h := 0; h < 1<<16; h++ {
		sign := 1.0
		if h&0x8000 != 0 {
			sign = -1
		}
		exp, frac := (h>>10)&0x1f, h&0x3ff
		got := math.Float32frombits(halfBits(uint16(h)))
		var want float64
		switch {
		case exp == 0x1f && frac == 0:
			want = math.Inf(int(sign))
		case exp == 0x1f:
			if !math.IsNaN(float64(got)) || math.Float32bits(got)>>13&0x3ff != uint32(frac) {
				t.Fatalf("%#04x: %v (%#08x), want NaN with its payload", h, got, math.Float32bits(got))
			}
			continue
		case exp == 0:
			want = sign * math.Ldexp(float64(frac), -24)
		default:
			want = sign * math.Ldexp(1+float64(frac)/1024, exp-15)
		}
		if float64(got) != want || math.Signbit(float64(got)) != (sign < 0) {
			t.Fatalf("%#04x: %v, want %v", h, got, want)
		}
	}
}

// The shipped fp16 ISNet widens whole: nothing is left in float16 and every weight doubles
// (infer's tests check that it predicts what the float16 model does).
func TestWidenRealModel(t *testing.T) {
	_, data := shippedModel(t, "isnet-general")
	wide, changed, err := Widen(data)
	if err != nil || !changed {
		t.Fatalf("widen: changed %v, %v", changed, err)
	}
	if n := halfLeft(t, wide); n != 0 {
		t.Errorf("%d float16 things left", n)
	}
	if len(wide) < 2*len(data)-len(data)/50 {
		t.Errorf("widened model is %d bytes for %d: its weights were not all converted", len(wide), len(data))
	}
}

func FuzzWiden(f *testing.F) {
	f.Add(halfModel())
	f.Add(tinyModel(false))
	f.Add(msg(7, msg(5, msg(1, 2, 2, onnxFloat16, 8, "w", 9, []byte{1, 2, 3}))))
	f.Fuzz(func(t *testing.T, data []byte) {
		wide, changed, err := Widen(data)
		if err != nil {
			return
		}
		if !changed {
			if len(wide) != len(data) {
				t.Fatal("unchanged model of a different length")
			}
			return
		}
		if _, again, err := Widen(wide); err != nil || again {
			t.Fatalf("widened model widens again: %v, %v", again, err)
		}
		in1, out1, err1 := IO(data)
		in2, out2, err2 := IO(wide)
		if (err1 == nil) != (err2 == nil) || !slices.Equal(in1, in2) || !slices.Equal(out1, out2) {
			t.Fatalf("I/O changed: %v → %v (%v) vs %v → %v (%v)", in1, out1, err1, in2, out2, err2)
		}
	})
}

// BenchmarkWidenFP16 widens the real fp16 ISNet (88 MB of float16 weights).
func BenchmarkWidenFP16(b *testing.B) {
	_, data := shippedModel(b, "isnet-general")
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, _, err := Widen(data); err != nil {
			b.Fatal(err)
		}
	}
}
