package infer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"
)

// lightConv is the largest weight count (values) of a dynamically quantised convolution that
// NewSession computes in float32 on the CPU (see dequantize). Measured on the quantised ISNet
// (2 cores, AVX-512; run time and peak memory of the run against the model as it is, one
// process each): up to 40 k values (63 convolutions) 0.85 × the time and 1.05 × the memory,
// up to 160 k (82) 0.77 × and 0.89 ×, up to 700 k (101) 0.82 × and 0.90 ×, all 119 of them
// 0.88 × and 1.2 ×: the heavy convolutions of the deep, low-resolution stages gain nothing
// in float and their float weights cost memory.
const lightConv = 160_000

// More field numbers of onnx.proto, for dequantize.
const (
	nodeInput  = 1 // NodeProto.input
	nodeOutput = 2 // NodeProto.output
	nodeName   = 3 // NodeProto.name
	nodeDomain = 7 // NodeProto.domain

	tensorDims      = 1 // TensorProto.dims
	tensorInt64Data = 7 // TensorProto.int64_data
)

// ONNX element types that dequantize reads.
const (
	onnxUint8 = 2
	onnxInt64 = 7
)

// dequantize rewrites the dynamically quantised convolutions of an ONNX model whose weights
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
func dequantize(data []byte, maxWeights int) ([]byte, int, error) {
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

// qnode is a node of a graph as dequantize sees it.
type qnode struct {
	op, name, domain string
	ins, outs        []string
	attrs            [][]byte // the attribute fields as they are (tag included)
}

// qgraph is the main graph of a model: its nodes in order, its initializers by name, and the
// names its outputs and declared inputs use.
type qgraph struct {
	nodes     []*qnode
	inits     map[string][]byte // name → TensorProto
	initOrder []string
	outputs   map[string]bool // graph outputs and declared inputs: values that must stay
	producer  map[string]*qnode
	consumers map[string][]*qnode
	subgraphs bool            // some node has a graph attribute
	taken     map[string]bool // names in use (see fresh)

	graphOutputs []string        // the graph's outputs alone, in order (see prune)
	sparse       map[string]bool // names of sparse initializers
}

func readGraph(b []byte) (*qgraph, error) {
	g := &qgraph{inits: map[string][]byte{}, outputs: map[string]bool{},
		producer: map[string]*qnode{}, consumers: map[string][]*qnode{}, sparse: map[string]bool{}}
	err := walk(b, func(f field) error {
		if f.typ != protowire.BytesType {
			return nil
		}
		switch f.num {
		case graphNode:
			n, err := readNode(f.val)
			if err != nil {
				return err
			}
			for _, a := range n.attrs {
				if hasGraph(a) {
					g.subgraphs = true
				}
			}
			g.nodes = append(g.nodes, n)
			for _, o := range n.outs {
				g.producer[o] = n
			}
			for _, in := range n.ins {
				g.consumers[in] = append(g.consumers[in], n)
			}
		case graphInitializer:
			name, err := stringField(f.val, tensorName)
			if err != nil {
				return err
			}
			g.inits[name] = f.val
			g.initOrder = append(g.initOrder, name)
		case graphSparseInitializer:
			name, err := constName(f)
			if err != nil {
				return err
			}
			g.sparse[name] = true
		case graphOutput, graphInput:
			name, err := stringField(f.val, valueInfoName)
			if err != nil {
				return err
			}
			g.outputs[name] = true
			if f.num == graphOutput {
				g.graphOutputs = append(g.graphOutputs, name)
			}
		}
		return nil
	})
	return g, err
}

func readNode(b []byte) (*qnode, error) {
	n := &qnode{}
	err := walk(b, func(f field) error {
		if f.typ != protowire.BytesType {
			return nil
		}
		switch f.num {
		case nodeInput:
			n.ins = append(n.ins, string(f.val))
		case nodeOutput:
			n.outs = append(n.outs, string(f.val))
		case nodeName:
			n.name = string(f.val)
		case nodeOpType:
			n.op = string(f.val)
		case nodeDomain:
			n.domain = string(f.val)
		case nodeAttribute:
			n.attrs = append(n.attrs, f.raw)
		}
		return nil
	})
	return n, err
}

// hasGraph reports whether an attribute field holds a graph.
func hasGraph(attr []byte) bool {
	found := false
	_, _, n := protowire.ConsumeTag(attr)
	v, m := protowire.ConsumeBytes(attr[n:])
	if m < 0 {
		return false
	}
	_ = walk(v, func(f field) error {
		found = found || f.num == attrG || f.num == attrGraphs
		return nil
	})
	return found
}

// is reports whether n is the standard operator op.
func (n *qnode) is(op string) bool {
	return n != nil && n.op == op && (n.domain == "" || n.domain == "ai.onnx")
}

// attrInt is integer attribute name of n, and whether it is there.
func (n *qnode) attrInt(name string) (int64, bool) {
	for _, a := range n.attrs {
		_, _, k := protowire.ConsumeTag(a)
		v, m := protowire.ConsumeBytes(a[k:])
		if m < 0 {
			continue
		}
		if s, _ := stringField(v, attrName); s != name {
			continue
		}
		var i int64
		found := false
		_ = walk(v, func(f field) error {
			if f.num == attrI && f.typ == protowire.VarintType {
				i, found = int64(f.u), true
			}
			return nil
		})
		return i, found
	}
	return 0, false
}

// only is the single consumer of value v when it is the operator op, else nil.
func (g *qgraph) only(v, op string) *qnode {
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
func other(n *qnode, v string) string {
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
	convs     map[*qnode][]byte // ConvInteger node → the Conv node replacing it
	dropNodes map[*qnode]bool
	dropInits map[string]bool
	inits     [][]byte // new initializers
}

func (g *qgraph) planDequant(maxWeights int) *dequantPlan {
	p := &dequantPlan{convs: map[*qnode][]byte{}, dropNodes: map[*qnode]bool{}, dropInits: map[string]bool{}}
	var maybe []*qnode  // quantizers, scale products and bias reshapes, dropped if nothing reads them
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
		var node []byte
		for _, in := range inputs {
			node = appendMessage(node, nodeInput, []byte(in))
		}
		node = appendMessage(node, nodeOutput, []byte(end))
		node = appendMessage(node, nodeName, []byte(g.fresh(c.name+"_float")))
		node = appendMessage(node, nodeOpType, []byte("Conv"))
		for _, a := range c.attrs {
			node = append(node, a...)
		}
		p.convs[c] = node
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
func (p *dequantPlan) uses(g *qgraph) map[string]int {
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
func (g *qgraph) bias(v string, m int) (name string, reshape *qnode, t []byte) {
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
func (g *qgraph) fresh(name string) string {
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

var errNotConst = errors.New("not a usable constant")

// weights reads a ConvInteger's uint8 weights (4-D, at most limit values), its scalar zero
// point and its scalar float scale.
func (g *qgraph) weights(wName, zeroName, scaleName string, limit int) (dequantWeights, bool) {
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

// constant reads initializer name: its dimensions, element type and values as little-endian
// bytes (uint8: one byte each; float: four), from raw_data, int32_data or float_data.
func (g *qgraph) constant(name string) (dims []uint64, dt uint64, vals []byte, err error) {
	b := g.inits[name]
	if b == nil {
		return nil, 0, nil, errNotConst
	}
	var raw []byte
	var ints []uint64
	var floats []byte
	hasRaw := false
	err = walk(b, func(f field) error {
		switch f.num {
		case tensorDims:
			v, err := varints(f)
			dims = append(dims, v...)
			return err
		case tensorDataType:
			dt = f.u
		case tensorRawData:
			raw, hasRaw = f.val, true
		case tensorInt32Data, tensorInt64Data:
			v, err := varints(f)
			ints = append(ints, v...)
			return err
		case tensorFloatData:
			switch f.typ {
			case protowire.BytesType:
				floats = append(floats, f.val...)
			case protowire.Fixed32Type:
				floats = append(floats, f.raw[len(f.raw)-4:]...)
			}
		case tensorDataLocation:
			if f.u == 1 {
				return errNotConst // external data
			}
		}
		return nil
	})
	if err != nil {
		return nil, 0, nil, err
	}
	switch {
	case hasRaw:
		vals = raw
	case dt == onnxUint8:
		for _, v := range ints {
			vals = append(vals, byte(v))
		}
	case dt == onnxInt64:
		for _, v := range ints {
			vals = binary.LittleEndian.AppendUint64(vals, v)
		}
	case dt == onnxFloat:
		vals = floats
	}
	return dims, dt, vals, nil
}
