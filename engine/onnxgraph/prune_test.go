package onnxgraph

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// prune is what a caller that keeps its model does: the plan applied to a copy. It reports
// whether anything was dropped (when not, it returns data itself).
func prune(data []byte, keep string) ([]byte, bool, error) {
	p, err := PlanPrune(data, keep)
	if err != nil || p == nil {
		return data, false, err
	}
	return p.Apply(bytes.Clone(data)), true, nil
}

// branchModel is a small valid model (IR 3: its constants are also listed as inputs) with two
// outputs, y = x + w and z = -(x · v), and a node whose result nothing reads (Relu(x)).
// value_info describes the intermediate x · v.
func branchModel() []byte {
	typ := msg(1, msg(1, onnxFloat, 2, msg(1, msg(1, 2)))) // float [2]
	value := func(name string) []byte { return msg(1, name, 2, typ) }
	graph := msg(
		1, msg(1, "x", 1, "w", 2, "y", 4, "Add"),
		1, msg(1, "x", 2, "dead", 4, "Relu"),
		1, msg(1, "x", 1, "v", 2, "xv", 4, "Mul"),
		1, msg(1, "xv", 2, "z", 4, "Neg"),
		2, "branches",
		5, floatConst("w", []int{2}, []float32{1, 2}),
		5, floatConst("v", []int{2}, []float32{3, 4}),
		11, value("w"), 11, value("v"), 11, value("x"),
		12, value("y"), 12, value("z"),
		13, value("xv"))
	return msg(1, 3, 2, "cutout-test", 7, graph, 8, msg(1, "", 2, 7))
}

// graphParts lists the op types of a model's nodes and the names of its constants, declared
// inputs (constants included) and value_info entries.
func graphParts(t *testing.T, data []byte) (ops, consts, declared, infos []string) {
	t.Helper()
	graph, err := bytesField(data, modelGraph)
	if err != nil {
		t.Fatal(err)
	}
	err = walk(graph, func(f field) error {
		var err error
		var name string
		switch f.num {
		case graphNode:
			name, err = stringField(f.val, nodeOpType)
			ops = append(ops, name)
		case graphInitializer:
			name, err = stringField(f.val, tensorName)
			consts = append(consts, name)
		case graphInput:
			name, err = stringField(f.val, valueInfoName)
			declared = append(declared, name)
		case graphValueInfo:
			name, err = stringField(f.val, valueInfoName)
			infos = append(infos, name)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return ops, consts, declared, infos
}

// paddedGraph re-encodes a model's graph field with its length as a 10-byte varint (legal
// protobuf, if unusual), after a field before it; pruning must still move every byte forward.
func paddedGraph(model []byte) []byte {
	graph, _ := bytesField(model, modelGraph)
	out := msg(1, 3, 2, "padded")
	out = protowire.AppendTag(out, modelGraph, protowire.BytesType)
	n := uint64(len(graph))
	for i := 0; i < 9; i++ {
		out = append(out, byte(n&0x7f)|0x80)
		n >>= 7
	}
	out = append(out, byte(n))
	out = append(out, graph...)
	return append(out, msg(8, msg(1, "", 2, 7))...)
}

// sameAround checks that pruning kept every field of the model but the graph as it was, and
// the graph's fields it kept in their order and unchanged.
func sameAround(t *testing.T, data, pruned []byte) {
	t.Helper()
	split := func(b []byte) (rest, graph [][]byte) {
		_ = walk(b, func(f field) error {
			if f.num == modelGraph && f.typ == protowire.BytesType {
				_ = walk(f.val, func(g field) error {
					graph = append(graph, g.raw)
					return nil
				})
			} else {
				rest = append(rest, f.raw)
			}
			return nil
		})
		return rest, graph
	}
	rest0, graph0 := split(data)
	rest1, graph1 := split(pruned)
	if !slices.EqualFunc(rest0, rest1, bytes.Equal) {
		t.Fatalf("the fields around the graph changed")
	}
	k := 0
	for _, f := range graph1 {
		for k < len(graph0) && !bytes.Equal(graph0[k], f) {
			k++
		}
		if k == len(graph0) {
			t.Fatalf("the pruned graph has a field the model's has not (or out of order)")
		}
		k++
	}
}

func TestPruneTinyModel(t *testing.T) {
	data := branchModel()
	x := []float32{1, -2}
	cases := []struct {
		keep                         string
		want                         []float32
		ops, consts, declared, infos []string
	}{
		{"y", []float32{2, 0}, []string{"Add"}, []string{"w"}, []string{"w", "x"}, nil},
		{"z", []float32{-3, 8}, []string{"Mul", "Neg"}, []string{"v"}, []string{"v", "x"}, []string{"xv"}},
	}
	for _, c := range cases {
		pruned, changed, err := prune(data, c.keep)
		if err != nil || !changed {
			t.Fatalf("%s: changed %v, %v", c.keep, changed, err)
		}
		in, out, err := IO(pruned)
		if err != nil || !slices.Equal(in, []string{"x"}) || !slices.Equal(out, []string{c.keep}) {
			t.Errorf("%s: pruned model has %v → %v (%v), want [x] → [%s]", c.keep, in, out, err, c.keep)
		}
		ops, consts, declared, infos := graphParts(t, pruned)
		if !slices.Equal(ops, c.ops) || !slices.Equal(consts, c.consts) || !slices.Equal(declared, c.declared) || !slices.Equal(infos, c.infos) {
			t.Errorf("%s: nodes %v, constants %v, inputs %v, value_info %v; want %v, %v, %v, %v",
				c.keep, ops, consts, declared, infos, c.ops, c.consts, c.declared, c.infos)
		}
		if got, whole := runOutput(t, pruned, c.keep, x), runOutput(t, data, c.keep, x); !slices.Equal(got, c.want) || !slices.Equal(whole, c.want) {
			t.Errorf("%s: pruned model gives %v, whole model %v, want %v", c.keep, got, whole, c.want)
		}
		if again, changed, err := prune(pruned, c.keep); err != nil || changed || !bytes.Equal(again, pruned) {
			t.Errorf("%s: a pruned model prunes again (changed %v, %v)", c.keep, changed, err)
		}
		sameAround(t, data, pruned)
		// In place, over a graph whose length prefix shrinks from 10 bytes to 1.
		padded := paddedGraph(data)
		p, err := PlanPrune(padded, c.keep)
		if err != nil || p == nil {
			t.Fatalf("%s: padded model: plan %v, %v", c.keep, p, err)
		}
		orig := bytes.Clone(padded)
		inPlace := p.Apply(padded)
		if &inPlace[0] != &padded[0] {
			t.Errorf("%s: apply did not prune in place", c.keep)
		}
		sameAround(t, orig, inPlace)
		if got := runOutput(t, inPlace, c.keep, x); !slices.Equal(got, c.want) {
			t.Errorf("%s: padded model pruned in place gives %v, want %v", c.keep, got, c.want)
		}
	}
}

func TestPruneLeavesWhatItCannot(t *testing.T) {
	// One output, every node needed: the model itself comes back.
	tiny := tinyModel(false)
	if out, changed, err := prune(tiny, "y"); err != nil || changed || !bytes.Equal(out, tiny) {
		t.Errorf("single-output model: changed %v, %v", changed, err)
	}
	if _, _, err := prune(branchModel(), "nope"); !errors.Is(err, errCannotPrune) {
		t.Errorf("unknown output: %v, want errCannotPrune", err)
	}
	// A node with a subgraph may read any name of the graph around it.
	sub := msg(1, msg(2, "k", 4, "Identity"), 2, "then", 12, msg(1, "k"))
	withIf := msg(7, msg(
		1, msg(1, "c", 2, "r", 4, "If", 5, msg(1, "then_branch", 6, sub, 20, 5)),
		1, msg(1, "x", 2, "other", 4, "Relu"),
		12, msg(1, "r"), 12, msg(1, "other")))
	if _, _, err := prune(withIf, "r"); !errors.Is(err, errCannotPrune) {
		t.Errorf("model with a subgraph: %v, want errCannotPrune", err)
	}
	twice := append(branchModel(), msg(7, msg(12, msg(1, "y")))...) // a second graph field
	if _, _, err := prune(twice, "y"); !errors.Is(err, errCannotPrune) {
		t.Errorf("model with two graph fields: %v, want errCannotPrune", err)
	}
	for name, data := range map[string][]byte{
		"empty":     nil,
		"no graph":  msg(1, 7, 2, "producer"),
		"bad graph": msg(7, []byte{0x5a, 0xff}),
	} {
		if _, _, err := prune(data, "y"); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// The shipped ISNets keep only the output Cutout reads (infer's tests check that the pruned
// models predict exactly what the whole ones do).
func TestPruneRealModels(t *testing.T) {
	for _, name := range []string{"isnet-general-q8", "isnet-general"} {
		m, data := shippedModel(t, name)
		_, outs, err := IO(data)
		if err != nil {
			t.Fatal(err)
		}
		pruned, changed, err := prune(data, m.Output)
		if err != nil || !changed {
			t.Fatalf("%s: changed %v, %v", name, changed, err)
		}
		_, kept, err := IO(pruned)
		if err != nil || !slices.Equal(kept, []string{m.Output}) {
			t.Errorf("%s: outputs %v → %v (%v), want [%s]", name, outs, kept, err, m.Output)
		}
		opsBefore, _, _, _ := graphParts(t, data)
		opsAfter, _, _, _ := graphParts(t, pruned)
		t.Logf("%s: %d outputs → 1, %d nodes → %d, %d → %d bytes", name, len(outs), len(opsBefore), len(opsAfter), len(data), len(pruned))
	}
}

func FuzzPrune(f *testing.F) {
	f.Add(branchModel(), "y")
	f.Add(branchModel(), "z")
	f.Add(tinyModel(false), "y")
	f.Add(tinyModel(true), "y")
	f.Add(halfModel(), "y")
	f.Add(paddedGraph(branchModel()), "z")
	f.Fuzz(func(t *testing.T, data []byte, keep string) {
		orig := bytes.Clone(data)
		out, changed, err := prune(data, keep)
		if !bytes.Equal(data, orig) {
			t.Fatal("prune modified its input")
		}
		if err != nil || !changed {
			return
		}
		sameAround(t, data, out)
		// A pruned model parses, keeps its inputs, has the one output and nothing left to drop.
		in0, _, err0 := IO(data)
		in1, out1, err1 := IO(out)
		if err0 == nil && (err1 != nil || !slices.Equal(in0, in1) || !slices.Equal(out1, []string{keep})) {
			t.Fatalf("inputs %v → %v, outputs %v (%v)", in0, in1, out1, err1)
		}
		if _, again, err := prune(out, keep); err != nil || again {
			t.Fatalf("a pruned model prunes again: %v, %v", again, err)
		}
	})
}
