package onnxgraph

import (
	"encoding/binary"
	"errors"
	"math"
	"sync"

	"google.golang.org/protobuf/encoding/protowire"
)

var errCannotWiden = errors.New("the model cannot be widened")

// Widen rewrites an ONNX model whose tensors are float16 into the same model in float32: every
// float16 constant is converted exactly (float16 ⊂ float32), every float16 type becomes
// float32 and casts to float16 become casts to float32, which ONNX Runtime then drops. It
// reports whether the model had anything in float16 (when not, it returns data itself).
//
// ONNX Runtime's CPU provider computes most float16 operators in float32 anyway, with a cast
// before and after each of them (349 casts in the fp16 ISNet, 5.5 % of its run) that also keep
// it from fusing each convolution with its activation.
//
// It fails with errCannotWiden on what it does not handle (external data, sparse constants,
// model-local functions); the caller then loads the model as it is. The new model is
// written once, into a buffer of its exact size: the converted constants are not held twice.
func Widen(data []byte) ([]byte, bool, error) {
	r, err := edit(data, func(f field, r *rope) (bool, error) {
		switch {
		case f.num == modelGraph && f.typ == protowire.BytesType:
			g, err := widenGraph(f.val)
			r.message(f.num, g)
			return true, err
		case f.num == modelFunctions:
			return false, errCannotWiden
		}
		return false, nil
	})
	if err != nil {
		return nil, false, err
	}
	if !r.changed {
		return data, false, nil
	}
	return r.bytes(), true, nil
}

func widenGraph(b []byte) (*rope, error) {
	return edit(b, func(f field, r *rope) (bool, error) {
		if f.typ != protowire.BytesType {
			return false, nil
		}
		var v *rope
		var err error
		switch f.num {
		case graphNode:
			v, err = widenNode(f.val)
		case graphInitializer:
			v, err = widenTensor(f.val)
		case graphInput, graphOutput, graphValueInfo:
			v, err = edit(f.val, func(f field, r *rope) (bool, error) {
				if f.num == valueInfoType && f.typ == protowire.BytesType {
					t, err := widenType(f.val)
					r.message(f.num, t)
					return true, err
				}
				return false, nil
			})
		case graphSparseInitializer:
			return false, errCannotWiden
		default:
			return false, nil
		}
		r.message(f.num, v)
		return true, err
	})
}

func widenNode(b []byte) (*rope, error) {
	op, err := stringField(b, nodeOpType)
	if err != nil {
		return nil, err
	}
	return edit(b, func(f field, r *rope) (bool, error) {
		if f.num != nodeAttribute || f.typ != protowire.BytesType {
			return false, nil
		}
		name, err := stringField(f.val, attrName)
		if err != nil {
			return false, err
		}
		// Attributes that name an element type: Cast's "to", and "dtype" of the operators
		// that make tensors (RandomNormal, EyeLike, ...).
		typed := (op == "Cast" && name == "to") || name == "dtype"
		a, err := edit(f.val, func(f field, r *rope) (bool, error) {
			switch {
			case f.num == attrI && f.typ == protowire.VarintType && typed && f.u == onnxFloat16:
				r.varint(f.num, onnxFloat)
				return true, nil
			case (f.num == attrT || f.num == attrTensor) && f.typ == protowire.BytesType:
				t, err := widenTensor(f.val)
				r.message(f.num, t)
				return true, err
			case (f.num == attrG || f.num == attrGraphs) && f.typ == protowire.BytesType:
				g, err := widenGraph(f.val)
				r.message(f.num, g)
				return true, err
			}
			return false, nil
		})
		r.message(f.num, a)
		return true, err
	})
}

// widenTensor converts a float16 TensorProto into a float32 one; others are kept as they are.
func widenTensor(b []byte) (*rope, error) {
	half, external := false, false
	err := walk(b, func(f field) error {
		switch {
		case f.num == tensorDataType && f.typ == protowire.VarintType:
			half = f.u == onnxFloat16
		case f.num == tensorDataLocation && f.typ == protowire.VarintType:
			external = f.u == 1
		}
		return nil
	})
	if err != nil || !half {
		return &rope{segs: []seg{{b: b}}, n: len(b)}, err
	}
	if external {
		return nil, errCannotWiden
	}
	var floats []byte // values held in int32_data, as packed float_data
	r, err := edit(b, func(f field, r *rope) (bool, error) {
		switch {
		case f.num == tensorDataType:
			r.varint(f.num, onnxFloat)
			return true, nil
		case f.num == tensorRawData && f.typ == protowire.BytesType:
			if len(f.val)%2 != 0 {
				return false, errors.New("float16 raw data of odd length")
			}
			r.raw(protowire.AppendVarint(protowire.AppendTag(nil, f.num, protowire.BytesType), uint64(2*len(f.val))))
			r.segs = append(r.segs, seg{b: f.val, half: true})
			r.n += 2 * len(f.val)
			return true, nil
		case f.num == tensorInt32Data:
			// float16 bits, one per int32, packed or not.
			vals, err := varints(f)
			for _, u := range vals {
				floats = binary.LittleEndian.AppendUint32(floats, halfBits(uint16(u)))
			}
			return true, err
		}
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	r.changed = true
	if floats != nil {
		r.raw(appendMessage(nil, tensorFloatData, floats))
	}
	return r, nil
}

// widenType turns float16 element types in a TypeProto into float32.
func widenType(b []byte) (*rope, error) {
	return edit(b, func(f field, r *rope) (bool, error) {
		if f.typ != protowire.BytesType {
			return false, nil
		}
		switch f.num {
		case typeTensor, typeSparse:
			v, err := edit(f.val, func(f field, r *rope) (bool, error) {
				if f.num == elemType && f.typ == protowire.VarintType && f.u == onnxFloat16 {
					r.varint(f.num, onnxFloat)
					return true, nil
				}
				return false, nil
			})
			r.message(f.num, v)
			return true, err
		case typeSequence, typeOptional:
			v, err := edit(f.val, func(f field, r *rope) (bool, error) {
				if f.num == elemType && f.typ == protowire.BytesType {
					t, err := widenType(f.val)
					r.message(f.num, t)
					return true, err
				}
				return false, nil
			})
			r.message(f.num, v)
			return true, err
		}
		return false, nil
	})
}

// halfTable maps every IEEE 754 binary16 bit pattern to the float32 bits of the same value.
var halfTable = sync.OnceValue(func() *[1 << 16]uint32 {
	var t [1 << 16]uint32
	for h := range t {
		t[h] = halfToFloatBits(uint16(h))
	}
	return &t
})

func halfBits(h uint16) uint32 { return halfTable()[h] }

func halfToFloatBits(h uint16) uint32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // infinity or NaN
		return sign | 0xff<<23 | frac<<13
	case exp != 0: // normal
		return sign | (exp+127-15)<<23 | frac<<13
	case frac == 0: // zero
		return sign
	}
	// subnormal, frac · 2⁻²⁴: normal in float32
	return sign | math.Float32bits(float32(frac)*(1.0/(1<<24)))
}

// halvesToFloats writes the float16 values of src (little endian) as float32 into dst.
func halvesToFloats(dst, src []byte) {
	t := halfTable()
	dst = dst[:2*len(src)]
	for i := 0; i+1 < len(src); i += 2 {
		h := binary.LittleEndian.Uint16(src[i:])
		var f uint32
		if e := h & 0x7c00; e != 0 && e != 0x7c00 {
			// normal: rebias the exponent (127 - 15 = 112), widen the fraction
			f = uint32(h&0x8000)<<16 | (uint32(h&0x7fff)<<13 + 112<<23)
		} else {
			f = t[h] // zeros, subnormals, infinities and NaNs
		}
		binary.LittleEndian.PutUint32(dst[2*i:], f)
	}
}
