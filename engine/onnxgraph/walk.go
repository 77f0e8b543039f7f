package onnxgraph

import (
	"errors"
	"slices"

	"cutout/internal/parallel"

	"google.golang.org/protobuf/encoding/protowire"
)

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

// bytesField is the last occurrence of length-delimited field num in message b (protobuf's
// rule for a repeated singular field), or nil.
func bytesField(b []byte, num protowire.Number) ([]byte, error) {
	var out []byte
	err := walk(b, func(f field) error {
		if f.num == num && f.typ == protowire.BytesType {
			out = f.val
		}
		return nil
	})
	return out, err
}

func stringField(b []byte, num protowire.Number) (string, error) {
	v, err := bytesField(b, num)
	return string(v), err
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

func appendMessage(out []byte, num protowire.Number, v []byte) []byte {
	out = protowire.AppendTag(out, num, protowire.BytesType)
	return protowire.AppendBytes(out, v)
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
	// Written over the cores, by bytes of out: converting float16 is most of Widen's time, and
	// copying the rest is mostly the kernel handing over fresh pages.
	parallel.For(r.n, func(lo, hi int) {
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
