package onnxgraph

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"
)

// LightConv is the largest weight count (values) of a dynamically quantised convolution worth
// computing in float32 on the CPU (see Dequantize). Measured on the quantised ISNet
// (2 cores, AVX-512; run time and peak memory of the run against the model as it is, one
// process each): up to 40 k values (63 convolutions) 0.85 × the time and 1.05 × the memory,
// up to 160 k (82) 0.77 × and 0.89 ×, up to 700 k (101) 0.82 × and 0.90 ×, all 119 of them
// 0.88 × and 1.2 ×: the heavy convolutions of the deep, low-resolution stages gain nothing
// in float and their float weights cost memory.
const LightConv = 160_000

// Dequantize rewrites the dynamically quantised convolutions of an ONNX model whose weights
// hold at most maxWeights values into float convolutions of the same weights. A dynamically
// quantised model (onnxruntime.quantization.quantize_dynamic) computes each convolution as
//
//	x ──DynamicQuantizeLinear──▶ xq, xScale, xZero
//	ConvInteger(xq, Wq, xZero, wZero) ──Cast(float)──▶ · ──Mul(xScale·wScale)──▶ · ──Add(bias)──▶ y
//
// which this turns into y = Conv(x, (Wq − wZero)·wScale, bias): the weights are exactly the
// model's quantised weights, only the activations are no longer rounded to 8 bits. On the CPU
// that is faster for the convolutions that have few weights and large activations (the
// high-resolution stages of a U-Net): ONNX Runtime's ConvInteger expands its input (im2col)
// and multiplies unsigned 8-bit matrices, while a float convolution runs in its blocked
// layout, and the chain's int32 and float intermediates of the size of the activations go
// away (less memory, too). Convolutions with more weights stay quantised.
//
// Anything that does not match the chain exactly is left as it is. It returns data itself
// when it changed nothing.
func Dequantize(data []byte, maxWeights int) ([]byte, int, error) {
	var graph []byte
	graphs := 0
	err := walk(data, func(f field) error {
		if f.num == modelGraph && f.typ == protowire.BytesType {
			graph = f.val
			graphs++
		}
		return nil
	})
	if err != nil || graphs != 1 {
		// Protobuf would merge several graph fields into one: not worth rewriting.
		return data, 0, err
	}
	g, err := readGraph(graph)
	if err != nil || g.subgraphs {
		// Nested graphs may use the main graph's values by name: leave such models alone.
		return data, 0, err
	}
	plan := g.planDequant(maxWeights)
	if len(plan.convs) == 0 {
		return data, 0, nil
	}
	nodeAt, initAt := 0, 0
	r, err := edit(data, func(f field, r *rope) (bool, error) {
		if f.num != modelGraph || f.typ != protowire.BytesType {
			return false, nil
		}
		gr, err := edit(f.val, func(f field, r *rope) (bool, error) {
			if f.typ != protowire.BytesType {
				return false, nil
			}
			switch f.num {
			case graphNode:
				n := g.nodes[nodeAt]
				nodeAt++
				if conv, ok := plan.convs[n]; ok {
					r.raw(appendMessage(nil, graphNode, conv))
					return true, nil
				}
				return plan.dropNodes[n], nil
			case graphInitializer:
				name := g.initOrder[initAt]
				initAt++
				return plan.dropInits[name], nil
			}
			return false, nil
		})
		if err != nil {
			return false, err
		}
		for _, t := range plan.inits {
			gr.raw(appendMessage(nil, graphInitializer, t))
		}
		gr.changed = true
		r.message(f.num, gr)
		return true, nil
	})
	if err != nil {
		return nil, 0, err
	}
	return r.bytes(), len(plan.convs), nil
}

// only is the single consumer of value v when it is the operator op, else nil.
func (g *graphIndex) only(v, op string) *node {
	if g.outputs[v] {
		return nil
	}
	cs := g.consumers[v]
	if len(cs) != 1 || !cs[0].is(op) {
		return nil
	}
	return cs[0]
}

// other is the input of a two-input node that is not v ("" when it has no such input).
func other(n *node, v string) string {
	if len(n.ins) != 2 {
		return ""
	}
	switch v {
	case n.ins[0]:
		return n.ins[1]
	case n.ins[1]:
		return n.ins[0]
	}
	return ""
}

type dequantPlan struct {
	convs     map[*node][]byte // ConvInteger node → the Conv node replacing it
	dropNodes map[*node]bool
	dropInits map[string]bool
	inits     [][]byte // new initializers
}

func (g *graphIndex) planDequant(maxWeights int) *dequantPlan {
	p := &dequantPlan{convs: map[*node][]byte{}, dropNodes: map[*node]bool{}, dropInits: map[string]bool{}}
	var maybe []*node   // quantizers, scale products and bias reshapes, dropped if nothing reads them
	var consts []string // constants of the replaced chains, dropped if nothing reads them
	for _, c := range g.nodes {
		if !c.is("ConvInteger") || len(c.ins) != 4 || len(c.outs) != 1 {
			continue
		}
		q := g.producer[c.ins[0]]
		if !q.is("DynamicQuantizeLinear") || len(q.ins) != 1 || len(q.outs) != 3 ||
			q.outs[0] != c.ins[0] || q.outs[2] != c.ins[2] {
			continue
		}
		cast := g.only(c.outs[0], "Cast")
		if cast == nil || len(cast.outs) != 1 {
			continue
		}
		if to, ok := cast.attrInt("to"); !ok || to != onnxFloat {
			continue
		}
		scaled := g.only(cast.outs[0], "Mul")
		if scaled == nil || len(scaled.outs) != 1 {
			continue
		}
		scales := g.producer[other(scaled, cast.outs[0])]
		if !scales.is("Mul") || len(scales.outs) != 1 {
			continue
		}
		wScale := other(scales, q.outs[1])
		w, ok := g.weights(c.ins[1], c.ins[3], wScale, maxWeights)
		if !ok {
			continue
		}
		name := g.fresh(c.ins[1] + "_float")
		p.inits = append(p.inits, w.tensor(name))
		inputs := []string{q.ins[0], name}
		end := scaled.outs[0]
		if add := g.only(end, "Add"); add != nil && len(add.outs) == 1 {
			if bias, reshape, t := g.bias(other(add, end), int(w.dims[0])); bias != "" || t != nil {
				if t != nil {
					consts = append(consts, other(add, end))
					bias = g.fresh(c.ins[1] + "_bias")
					p.inits = append(p.inits, appendMessage(t, tensorName, []byte(bias)))
				}
				if reshape != nil {
					maybe = append(maybe, reshape)
					consts = append(consts, reshape.ins[1])
				}
				inputs = append(inputs, bias)
				p.dropNodes[add] = true
				end = add.outs[0]
			}
		}
		var conv []byte
		for _, in := range inputs {
			conv = appendMessage(conv, nodeInput, []byte(in))
		}
		conv = appendMessage(conv, nodeOutput, []byte(end))
		conv = appendMessage(conv, nodeName, []byte(g.fresh(c.name+"_float")))
		conv = appendMessage(conv, nodeOpType, []byte("Conv"))
		for _, a := range c.attrs {
			conv = append(conv, a...)
		}
		p.convs[c] = conv
		p.dropNodes[cast], p.dropNodes[scaled] = true, true
		maybe = append(maybe, q, scales)
		consts = append(consts, c.ins[1], c.ins[3], wScale)
	}
	uses := p.uses(g)
	for changed := true; changed; { // a scale product reads a quantizer's output
		changed = false
		for _, n := range maybe {
			if !p.dropNodes[n] && !anyOf(n.outs, uses) {
				p.dropNodes[n], changed = true, true
				for _, in := range n.ins {
					uses[in]--
				}
			}
		}
	}
	for _, name := range consts {
		if uses[name] == 0 && g.inits[name] != nil {
			p.dropInits[name] = true
		}
	}
	return p
}

// uses counts the readers of each value: the graph's outputs and the nodes the plan keeps or
// puts in.
func (p *dequantPlan) uses(g *graphIndex) map[string]int {
	uses := map[string]int{}
	for n := range g.outputs {
		uses[n]++
	}
	for _, n := range g.nodes {
		if p.dropNodes[n] {
			continue
		}
		if conv, ok := p.convs[n]; ok {
			_ = walk(conv, func(f field) error {
				if f.num == nodeInput {
					uses[string(f.val)]++
				}
				return nil
			})
			continue
		}
		for _, in := range n.ins {
			uses[in]++
		}
	}
	return uses
}

func anyOf(names []string, uses map[string]int) bool {
	for _, n := range names {
		if uses[n] > 0 {
			return true
		}
	}
	return false
}

// bias finds the per-channel bias of m channels that value v adds: a 1-D constant reshaped
// to [1, m, 1, 1] (or [m, 1, 1]), whose name it returns with the Reshape; or a constant of
// that shape, whose values it returns as a new 1-D TensorProto (without a name).
func (g *graphIndex) bias(v string, m int) (name string, reshape *node, t []byte) {
	perChannel := func(dims []uint64) bool {
		return slices.Equal(dims, []uint64{1, uint64(m), 1, 1}) || slices.Equal(dims, []uint64{uint64(m), 1, 1})
	}
	if r := g.producer[v]; r.is("Reshape") && len(r.ins) == 2 && len(r.outs) == 1 {
		dims, dt, vals, err := g.constant(r.ins[0])
		if err != nil || dt != onnxFloat || len(dims) != 1 || len(vals) != 4*m {
			return "", nil, nil
		}
		sdims, sdt, shape, err := g.constant(r.ins[1])
		if err != nil || sdt != onnxInt64 || len(sdims) != 1 || len(shape)%8 != 0 {
			return "", nil, nil
		}
		to := make([]uint64, len(shape)/8)
		for i := range to {
			to[i] = binary.LittleEndian.Uint64(shape[8*i:])
		}
		if !perChannel(to) {
			return "", nil, nil
		}
		return r.ins[0], r, nil
	}
	dims, dt, vals, err := g.constant(v)
	if err != nil || dt != onnxFloat || len(vals) != 4*m || !perChannel(dims) {
		return "", nil, nil
	}
	t = protowire.AppendTag(nil, tensorDims, protowire.VarintType)
	t = protowire.AppendVarint(t, uint64(m))
	t = protowire.AppendTag(t, tensorDataType, protowire.VarintType)
	t = protowire.AppendVarint(t, onnxFloat)
	return "", nil, appendMessage(t, tensorRawData, vals)
}

// fresh is name, or name with a number, such that no value or node of g has it; it is taken
// from then on.
func (g *graphIndex) fresh(name string) string {
	if g.taken == nil {
		g.taken = map[string]bool{}
		for _, n := range g.nodes {
			g.taken[n.name] = true
			for _, o := range n.outs {
				g.taken[o] = true
			}
			for _, in := range n.ins {
				g.taken[in] = true
			}
		}
		for n := range g.inits {
			g.taken[n] = true
		}
		for n := range g.outputs {
			g.taken[n] = true
		}
	}
	s := name
	for i := 2; g.taken[s]; i++ {
		s = fmt.Sprintf("%s_%d", name, i)
	}
	g.taken[s] = true
	return s
}

// dequantWeights are a convolution's quantised weights with their zero point and scale.
type dequantWeights struct {
	dims  []uint64
	q     []byte
	zero  byte
	scale float32
}

// tensor is the float32 TensorProto of the dequantised weights.
func (w dequantWeights) tensor(name string) []byte {
	var t []byte
	for _, d := range w.dims {
		t = protowire.AppendTag(t, tensorDims, protowire.VarintType)
		t = protowire.AppendVarint(t, d)
	}
	t = protowire.AppendTag(t, tensorDataType, protowire.VarintType)
	t = protowire.AppendVarint(t, onnxFloat)
	t = appendMessage(t, tensorName, []byte(name))
	raw := make([]byte, 4*len(w.q))
	for i, q := range w.q {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(float32(int(q)-int(w.zero))*w.scale))
	}
	return appendMessage(t, tensorRawData, raw)
}

// weights reads a ConvInteger's uint8 weights (4-D, at most limit values), its scalar zero
// point and its scalar float scale.
func (g *graphIndex) weights(wName, zeroName, scaleName string, limit int) (dequantWeights, bool) {
	var w dequantWeights
	dims, dt, q, err := g.constant(wName)
	if err != nil || dt != onnxUint8 || len(dims) != 4 || len(q) == 0 || len(q) > limit {
		return w, false
	}
	n := uint64(1)
	for _, d := range dims {
		n *= d
	}
	if n != uint64(len(q)) {
		return w, false
	}
	_, dt, z, err := g.constant(zeroName)
	if err != nil || dt != onnxUint8 || len(z) != 1 {
		return w, false
	}
	_, dt, s, err := g.constant(scaleName)
	if err != nil || dt != onnxFloat || len(s) != 4 {
		return w, false
	}
	scale := math.Float32frombits(binary.LittleEndian.Uint32(s))
	if math.IsNaN(float64(scale)) || math.IsInf(float64(scale), 0) {
		return w, false
	}
	return dequantWeights{dims: dims, q: q, zero: z[0], scale: scale}, true
}
