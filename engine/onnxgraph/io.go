package onnxgraph

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// IO lists the input and output names of an ONNX model's main graph, in the order ONNX
// Runtime reports them: inputs that are initializers (constants that old models also list as
// inputs) are left out. It reads the protobuf directly; asking ONNX Runtime would mean
// creating a whole throwaway session (measured: 0.2 s for the quantised ISNet, 0.45–0.65 s
// for the fp16 one, as long as the real session takes).
func IO(data []byte) (inputs, outputs []string, err error) {
	var graph []byte
	found := false
	err = walk(data, func(f field) error {
		if f.num == modelGraph && f.typ == protowire.BytesType {
			// A repeated singular message is merged by protobuf; ONNX files have one graph.
			graph, found = f.val, true
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("not an ONNX model: %w", err)
	}
	if !found {
		return nil, nil, errors.New("not an ONNX model: it has no graph")
	}
	consts := map[string]bool{}
	var declared []string
	err = walk(graph, func(f field) error {
		if f.typ != protowire.BytesType {
			return nil
		}
		num, v := f.num, f.val
		switch num {
		case graphInput, graphOutput:
			name, err := stringField(v, valueInfoName)
			if err != nil {
				return err
			}
			if num == graphInput {
				declared = append(declared, name)
			} else {
				outputs = append(outputs, name)
			}
		case graphInitializer:
			name, err := stringField(v, tensorName)
			if err != nil {
				return err
			}
			consts[name] = true
		case graphSparseInitializer:
			values, err := bytesField(v, sparseTensorVals)
			if err != nil {
				return err
			}
			name, err := stringField(values, tensorName)
			if err != nil {
				return err
			}
			consts[name] = true
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("not an ONNX model: its graph: %w", err)
	}
	for _, name := range declared {
		if !consts[name] {
			inputs = append(inputs, name)
		}
	}
	return inputs, outputs, nil
}
