package infer

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"sync"

	"google.golang.org/protobuf/encoding/protowire"
)

// ONNX element types (TensorProto.DataType) that widen rewrites.
const (
	onnxFloat   = 1
	onnxFloat16 = 10
)

// More field numbers of onnx.proto, for widen.
const (
	graphNode      = 1  // GraphProto.node
	graphValueInfo = 13 // GraphProto.value_info

	nodeOpType    = 4 // NodeProto.op_type
	nodeAttribute = 5 // NodeProto.attribute

	attrName   = 1  // AttributeProto.name
	attrI      = 3  // AttributeProto.i
	attrT      = 5  // AttributeProto.t
	attrG      = 6  // AttributeProto.g
	attrTensor = 10 // AttributeProto.tensors
	attrGraphs = 11 // AttributeProto.graphs

	tensorDataType     = 2  // TensorProto.data_type
	tensorFloatData    = 4  // TensorProto.float_data (packed float)
	tensorInt32Data    = 5  // TensorProto.int32_data (packed varint; float16 bits live here)
	tensorRawData      = 9  // TensorProto.raw_data
	tensorDataLocation = 14 // TensorProto.data_location (1: external)

	valueInfoType = 2 // ValueInfoProto.type

	typeTensor   = 1 // TypeProto.tensor_type
	typeSequence = 4 // TypeProto.sequence_type
	typeOptional = 9 // TypeProto.optional_type
	typeSparse   = 8 // TypeProto.sparse_tensor_type
	elemType     = 1 // TypeProto.Tensor.elem_type, SparseTensor.elem_type, Sequence.elem_type, Optional.elem_type

	modelFunctions = 25 // ModelProto.functions
)

var errCannotWiden = errors.New("the model cannot be widened")

// widen rewrites an ONNX model whose tensors are float16 into the same model in float32: every
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
func widen(data []byte) ([]byte, bool, error) {
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

// A rope is a protobuf message being rewritten: pieces of the original (or new small ones) and
// float16 data to be written out as float32, assembled once its length is known.
type rope struct {
	segs    []seg
	n       int  // length of the message once written
	changed bool // something differs from the original
}

type seg struct {
	b    []byte
	half bool // b is float16 data, written as float32 (2·len(b) bytes)
}

func (r *rope) raw(b []byte) {
	r.segs = append(r.segs, seg{b: b})
	r.n += len(b)
}

func (r *rope) varint(num protowire.Number, v uint64) {
	r.raw(protowire.AppendVarint(protowire.AppendTag(nil, num, protowire.VarintType), v))
	r.changed = true
}

// message appends field num holding the message sub.
func (r *rope) message(num protowire.Number, sub *rope) {
	if sub == nil {
		return
	}
	r.raw(protowire.AppendVarint(protowire.AppendTag(nil, num, protowire.BytesType), uint64(sub.n)))
	r.segs = append(r.segs, sub.segs...)
	r.n += sub.n
	r.changed = r.changed || sub.changed
}

func (r *rope) bytes() []byte {
	out := make([]byte, r.n)
	type job struct {
		src, dst []byte
		at       int // where dst starts in out
		half     bool
	}
	jobs := make([]job, 0, len(r.segs))
	at := 0
	for _, s := range r.segs {
		n := len(s.b)
		if s.half {
			n *= 2
		}
		jobs = append(jobs, job{s.b, out[at : at+n], at, s.half})
		at += n
	}
	// Written over the cores, by bytes of out: converting float16 is most of widen's time, and
	// copying the rest is mostly the kernel handing over fresh pages.
	rows(r.n, func(lo, hi int) {
		k, _ := slices.BinarySearchFunc(jobs, lo, func(j job, v int) int { return j.at + len(j.dst) - 1 - v })
		for ; k < len(jobs) && jobs[k].at < hi; k++ {
			j := jobs[k]
			a, b := max(lo, j.at)-j.at, min(hi, j.at+len(j.dst))-j.at
			if !j.half {
				copy(j.dst[a:b], j.src[a:b])
				continue
			}
			// Whole float32 values: a boundary inside the job rounds up the same way for
			// both of the workers that meet there.
			a, b = (a+3)&^3, (b+3)&^3
			halvesToFloats(j.dst[a:b], j.src[a/2:b/2])
		}
	})
	return out
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

// edit walks message b into a rope, letting f put a replacement for each field into it
// (handled) or leave the field to be copied as it is.
func edit(b []byte, f func(fl field, r *rope) (bool, error)) (*rope, error) {
	r := &rope{}
	run, off := 0, 0 // b[run:off]: fields kept as they are, not yet in r
	err := walk(b, func(fl field) error {
		mark, n, changed := len(r.segs), r.n, r.changed
		handled, err := f(fl, r)
		if err != nil {
			return err
		}
		if !handled {
			r.segs, r.n, r.changed = r.segs[:mark], n, changed
			off += len(fl.raw)
			return nil
		}
		if off > run { // the kept fields before this one go first
			r.segs = slices.Insert(r.segs, mark, seg{b: b[run:off]})
			r.n += off - run
		}
		off += len(fl.raw)
		run = off
		return nil
	})
	if off > run {
		r.raw(b[run:off])
	}
	return r, err
}

// A field of a protobuf message.
type field struct {
	num protowire.Number
	typ protowire.Type
	raw []byte // the whole field, tag included
	val []byte // the payload of a length-delimited field
	u   uint64 // the value of a varint field
}

// walk calls visit with each top-level field of the protobuf message b.
func walk(b []byte, visit func(f field) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		f := field{num: num, typ: typ}
		var m int
		switch typ {
		case protowire.BytesType:
			f.val, m = protowire.ConsumeBytes(b[n:])
		case protowire.VarintType:
			f.u, m = protowire.ConsumeVarint(b[n:])
		default:
			m = protowire.ConsumeFieldValue(num, typ, b[n:])
		}
		if m < 0 {
			return protowire.ParseError(m)
		}
		f.raw = b[:n+m]
		b = b[n+m:]
		if err := visit(f); err != nil {
			return err
		}
	}
	return nil
}

func appendMessage(out []byte, num protowire.Number, v []byte) []byte {
	out = protowire.AppendTag(out, num, protowire.BytesType)
	return protowire.AppendBytes(out, v)
}

// varints decodes a repeated varint field, packed or not.
func varints(f field) ([]uint64, error) {
	switch f.typ {
	case protowire.VarintType:
		return []uint64{f.u}, nil
	case protowire.BytesType:
		var vals []uint64
		for b := f.val; len(b) > 0; {
			u, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return nil, protowire.ParseError(n)
			}
			vals = append(vals, u)
			b = b[n:]
		}
		return vals, nil
	}
	return nil, errors.New("a varint field of the wrong wire type")
}
