package infer

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

var errCannotPrune = errors.New("the model cannot be pruned")

// prune rewrites an ONNX model to compute the graph output keep and nothing else: the other
// graph outputs go, with every node that only they need and every constant only those nodes
// read. It reports whether anything was dropped (when not, it returns data itself).
//
// ONNX Runtime runs every node of the graph whichever outputs a caller asks for, and holds
// every graph output until the run ends. The ISNet exports have twelve outputs: the mask
// Cutout reads, five coarser side masks, each upsampled to 1024², and the six decoder stages'
// feature maps (the largest 64 channels at 512², 67 MB in float32), all made and kept to the
// end of each run for nothing.
//
// Models with subgraphs (If, Loop, Scan: their nodes may read any name of the outer graph)
// are left alone (errCannotPrune), as is a model without exactly one output named keep.
func prune(data []byte, keep string) ([]byte, bool, error) {
	var graph []byte
	graphs := 0
	err := walk(data, func(f field) error {
		if f.num == modelGraph && f.typ == protowire.BytesType {
			graph = f.val
			graphs++
		}
		return nil
	})
	switch {
	case err != nil:
		return nil, false, err
	case graphs == 0:
		return nil, false, errors.New("the model has no graph")
	case graphs > 1: // protobuf would merge them: not a file any exporter writes
		return nil, false, errCannotPrune
	}
	var nodes []*qnode
	producer := map[string]int{} // tensor name → index in nodes
	consts := map[string]bool{}
	outputs, named := 0, 0
	err = walk(graph, func(f field) error {
		if f.typ != protowire.BytesType {
			return nil
		}
		switch f.num {
		case graphInitializer, graphSparseInitializer:
			name, err := constName(f)
			if err != nil {
				return err
			}
			consts[name] = true
		case graphOutput:
			name, err := stringField(f.val, valueInfoName)
			if err != nil {
				return err
			}
			outputs++
			if name == keep {
				named++
			}
		case graphNode:
			n, err := readNode(f.val)
			if err != nil {
				return err
			}
			for _, a := range n.attrs {
				if hasGraph(a) {
					return errCannotPrune
				}
			}
			for _, o := range n.outs {
				if o != "" {
					producer[o] = len(nodes)
				}
			}
			nodes = append(nodes, n)
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	if named != 1 || keep == "" {
		return nil, false, fmt.Errorf("%w: it has %d outputs named %q", errCannotPrune, named, keep)
	}
	// Everything keep depends on, found backwards from it.
	needed := map[string]bool{keep: true}
	kept := make([]bool, len(nodes))
	for todo := []string{keep}; len(todo) > 0; {
		name := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		i, ok := producer[name]
		if !ok || kept[i] {
			continue
		}
		kept[i] = true
		for _, in := range nodes[i].ins {
			if in != "" && !needed[in] {
				needed[in] = true
				todo = append(todo, in)
			}
		}
	}
	dropped := outputs > 1
	for _, k := range kept {
		dropped = dropped || !k
	}
	if !dropped {
		return data, false, nil
	}
	nodeAt := 0
	g, err := edit(graph, func(f field, r *rope) (bool, error) {
		if f.typ != protowire.BytesType {
			return false, nil
		}
		var keepField bool
		switch f.num {
		case graphNode:
			keepField = kept[nodeAt]
			nodeAt++
		case graphOutput:
			name, err := stringField(f.val, valueInfoName)
			if err != nil {
				return false, err
			}
			keepField = name == keep
		case graphInitializer, graphSparseInitializer:
			name, err := constName(f)
			if err != nil {
				return false, err
			}
			keepField = needed[name]
		case graphInput:
			// Old models also list their constants as graph inputs: those of the dropped
			// constants go too. The real inputs stay, used or not: they are the interface.
			name, err := stringField(f.val, valueInfoName)
			if err != nil {
				return false, err
			}
			keepField = !consts[name] || needed[name]
		case graphValueInfo:
			name, err := stringField(f.val, valueInfoName)
			if err != nil {
				return false, err
			}
			keepField = needed[name]
		default:
			return false, nil
		}
		if keepField {
			return false, nil
		}
		r.changed = true
		return true, nil // dropped: nothing written in its place
	})
	if err != nil {
		return nil, false, err
	}
	m, err := edit(data, func(f field, r *rope) (bool, error) {
		if f.num == modelGraph && f.typ == protowire.BytesType {
			r.message(f.num, g)
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		return nil, false, err
	}
	return m.bytes(), true, nil
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
