package onnxgraph

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

var errCannotPrune = errors.New("the model cannot be pruned")

// A PrunePlan says which fields of a model's graph stay when the model is rewritten to compute
// one graph output and nothing else: the other graph outputs go, with every node that only
// they need and every constant only those nodes read.
//
// ONNX Runtime runs every node of the graph whichever outputs a caller asks for, and holds
// every graph output until the run ends. The ISNet exports have twelve outputs: the mask
// Cutout reads, five coarser side masks, each upsampled to 1024², and the six decoder stages'
// feature maps (the largest 64 channels at 512², 67 MB in float32), all made and kept to the
// end of each run for nothing.
type PrunePlan struct {
	graphAt, graphEnd int    // the graph field (tag and length included) in the model
	stays             []bool // for each field of the graph, in order
	length            int    // of the graph once pruned
}

// PlanPrune decides what pruning the model data down to its output keep drops: nil when
// nothing. Models with subgraphs (If, Loop, Scan: their nodes may read any name of the outer
// graph) are left alone (errCannotPrune), as is a model without exactly one output named keep
// or with more than one graph. It does not modify data.
func PlanPrune(data []byte, keep string) (*PrunePlan, error) {
	p := &PrunePlan{}
	var graph []byte
	graphs, off := 0, 0
	err := walk(data, func(f field) error {
		if f.num == modelGraph && f.typ == protowire.BytesType {
			graph = f.val
			p.graphAt, p.graphEnd = off, off+len(f.raw)
			graphs++
		}
		off += len(f.raw)
		return nil
	})
	switch {
	case err != nil:
		return nil, err
	case graphs == 0:
		return nil, errors.New("the model has no graph")
	case graphs > 1: // protobuf would merge them: not a file any exporter writes
		return nil, errCannotPrune
	}
	g, err := readGraph(graph)
	if err != nil {
		return nil, err
	}
	if g.subgraphs {
		return nil, errCannotPrune
	}
	named := 0
	for _, o := range g.graphOutputs {
		if o == keep {
			named++
		}
	}
	if named != 1 || keep == "" {
		return nil, fmt.Errorf("%w: it has %d outputs named %q", errCannotPrune, named, keep)
	}
	// Everything keep depends on, found backwards from it.
	needed := map[string]bool{keep: true}
	kept := map[*node]bool{}
	for todo := []string{keep}; len(todo) > 0; {
		name := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		n, ok := g.producer[name]
		if !ok || kept[n] {
			continue
		}
		kept[n] = true
		for _, in := range n.ins {
			if in != "" && !needed[in] {
				needed[in] = true
				todo = append(todo, in)
			}
		}
	}
	if len(g.graphOutputs) == 1 && len(kept) == len(g.nodes) {
		return nil, nil
	}
	nodeAt := 0
	err = walk(graph, func(f field) error {
		stays := true
		if f.typ == protowire.BytesType {
			var name string
			var err error
			switch f.num {
			case graphNode:
				stays = kept[g.nodes[nodeAt]]
				nodeAt++
			case graphOutput:
				name, err = stringField(f.val, valueInfoName)
				stays = name == keep
			case graphInitializer, graphSparseInitializer:
				name, err = constName(f)
				stays = needed[name]
			case graphInput:
				// Old models also list their constants as graph inputs: those of the dropped
				// constants go too. The real inputs stay, used or not: they are the interface.
				name, err = stringField(f.val, valueInfoName)
				_, dense := g.inits[name]
				stays = !(dense || g.sparse[name]) || needed[name]
			case graphValueInfo:
				name, err = stringField(f.val, valueInfoName)
				stays = needed[name]
			}
			if err != nil {
				return err
			}
		}
		p.stays = append(p.stays, stays)
		if stays {
			p.length += len(f.raw)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Apply prunes buf, which holds the bytes PlanPrune read, in place: every field that stays
// moves towards the front (the graph's length prefix can only get shorter), so each is
// copied to where it is or before, after everything it overwrites has been read. It returns
// the model, a prefix of buf. To keep the original, apply the plan to a copy.
func (p *PrunePlan) Apply(buf []byte) []byte {
	head := buf[p.graphAt:p.graphEnd]
	_, _, n := protowire.ConsumeTag(head)
	_, m := protowire.ConsumeVarint(head[n:])
	graph := head[n+m:]
	w := p.graphAt
	w += copy(buf[w:], protowire.AppendVarint(protowire.AppendTag(nil, modelGraph, protowire.BytesType), uint64(p.length)))
	k := 0
	_ = walk(graph, func(f field) error { // PlanPrune walked these same bytes without error
		if p.stays[k] {
			w += copy(buf[w:], f.raw)
		}
		k++
		return nil
	})
	w += copy(buf[w:], buf[p.graphEnd:])
	return buf[:w]
}
