package onnxgraph

import (
	"encoding/binary"
	"errors"

	"google.golang.org/protobuf/encoding/protowire"
)

// node is a node of a graph as the rewrites see it.
type node struct {
	op, name, domain string
	ins, outs        []string
	attrs            [][]byte // the attribute fields as they are (tag included)
}

// graphIndex is the main graph of a model: its nodes in order, its initializers by name, and
// the names its outputs and declared inputs use.
type graphIndex struct {
	nodes     []*node
	inits     map[string][]byte // name → TensorProto
	initOrder []string
	outputs   map[string]bool // graph outputs and declared inputs: values that must stay
	producer  map[string]*node
	consumers map[string][]*node
	subgraphs bool            // some node has a graph attribute
	taken     map[string]bool // names in use (see fresh)

	graphOutputs []string        // the graph's outputs alone, in order (see PlanPrune)
	sparse       map[string]bool // names of sparse initializers
}

func readGraph(b []byte) (*graphIndex, error) {
	g := &graphIndex{inits: map[string][]byte{}, outputs: map[string]bool{},
		producer: map[string]*node{}, consumers: map[string][]*node{}, sparse: map[string]bool{}}
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

func readNode(b []byte) (*node, error) {
	n := &node{}
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

// constName is the name of a graph's initializer or sparse initializer field.
func constName(f field) (string, error) {
	if f.num == graphSparseInitializer {
		values, err := bytesField(f.val, sparseTensorVals)
		if err != nil {
			return "", err
		}
		return stringField(values, tensorName)
	}
	return stringField(f.val, tensorName)
}

// is reports whether n is the standard operator op.
func (n *node) is(op string) bool {
	return n != nil && n.op == op && (n.domain == "" || n.domain == "ai.onnx")
}

// attrInt is integer attribute name of n, and whether it is there.
func (n *node) attrInt(name string) (int64, bool) {
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

var errNotConst = errors.New("not a usable constant")

// constant reads initializer name: its dimensions, element type and values as little-endian
// bytes (uint8: one byte each; float: four), from raw_data, int32_data or float_data.
func (g *graphIndex) constant(name string) (dims []uint64, dt uint64, vals []byte, err error) {
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
