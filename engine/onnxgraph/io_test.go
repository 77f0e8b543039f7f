package onnxgraph

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	ort "github.com/yalue/onnxruntime_go"
	"google.golang.org/protobuf/encoding/protowire"

	"cutout/engine/models"
)

// tinyModel is a valid ONNX model, y = x + w, in the old style (IR version 3) where the
// initializer w is also listed among the graph's inputs, before x; with sparse, a second
// constant s (a sparse initializer, IR 6) is added too.
func tinyModel(sparse bool) []byte {
	const float = 1                                           // TensorProto.FLOAT
	tensorType := msg(1, msg(1, float, 2, msg(1, msg(1, 2)))) // TypeProto{tensor_type{FLOAT, [2]}}
	value := func(name string) []byte { return msg(1, name, 2, tensorType) }
	w := msg(1, 2, 2, float, 8, "w") // dims [2], FLOAT, name w
	w = protowire.AppendTag(w, 4, protowire.BytesType)
	w = protowire.AppendBytes(w, []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0x40}) // float_data, packed: [1, 2]
	graph := msg(1, msg(1, "x", 1, "w", 2, "t", 4, "Add"), 2, "tiny", 5, w,
		11, value("w"), 11, value("x"), 12, value("y"))
	ir, opset := 3, 7
	if sparse {
		ir, opset = 6, 11
		// values: FLOAT [1] = {3} named s; indices: INT64 [1] = {1}; dense shape [2].
		vals := msg(1, 1, 2, float, 8, "s")
		vals = protowire.AppendTag(vals, 4, protowire.BytesType)
		vals = protowire.AppendBytes(vals, []byte{0, 0, 0x40, 0x40})
		idx := msg(1, 1, 2, 7, 7, 1) // dims [1], INT64, int64_data [1]
		graph = append(graph, msg(15, msg(1, vals, 2, idx, 3, 2))...)
		graph = append(graph, msg(1, msg(1, "t", 1, "s", 2, "y", 4, "Add"))...)
		graph = append(graph, msg(11, value("s"))...)
	} else {
		graph = append(graph, msg(1, msg(1, "t", 2, "y", 4, "Identity"))...)
	}
	return msg(1, ir, 2, "cutout-test", 7, graph, 8, msg(1, "", 2, opset))
}

func runtimeIO(t *testing.T, data []byte) (in, out []string) {
	t.Helper()
	loadRuntime(t)
	ins, outs, err := ort.GetInputOutputInfoWithONNXData(data)
	if err != nil {
		t.Fatalf("ONNX Runtime refuses the model: %v", err)
	}
	for _, x := range ins {
		in = append(in, x.Name)
	}
	for _, x := range outs {
		out = append(out, x.Name)
	}
	return in, out
}

// IO must name the inputs and outputs ONNX Runtime names, in its order, on the installed
// models and on generated ones where constants are listed as inputs.
func TestModelIOMatchesRuntime(t *testing.T) {
	man, err := models.Load(filepath.Join(repoRoot(t), "models"))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{"tiny IR 3": tinyModel(false), "tiny sparse": tinyModel(true)}
	for _, m := range man.Models {
		data, err := os.ReadFile(m.Path)
		if err != nil {
			if m.InstalledBy == "make" {
				t.Fatalf("%s is installed by make: %v", m.Name, err)
			}
			continue
		}
		cases[m.Name] = data
	}
	for name, data := range cases {
		in, out, err := IO(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		wantIn, wantOut := runtimeIO(t, data)
		if !slices.Equal(in, wantIn) || !slices.Equal(out, wantOut) {
			t.Errorf("%s: IO %v → %v, ONNX Runtime %v → %v", name, in, out, wantIn, wantOut)
		}
	}
	if in, out, _ := IO(tinyModel(false)); !slices.Equal(in, []string{"x"}) || !slices.Equal(out, []string{"y"}) {
		t.Errorf("tiny model: %v → %v, want [x] → [y]", in, out)
	}
}

func TestModelIORefusesWhatIsNotAModel(t *testing.T) {
	good := tinyModel(false)
	for name, data := range map[string][]byte{
		"empty":     nil,
		"text":      []byte("this is not a model at all"),
		"truncated": good[:len(good)-5],
		"no graph":  msg(1, 7, 2, "producer"),
		"bad graph": msg(7, []byte{0x5a, 0xff}), // field 11, length past the end
	} {
		if _, _, err := IO(data); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func FuzzModelIO(f *testing.F) {
	f.Add(tinyModel(false))
	f.Add(tinyModel(true))
	f.Add(msg(7, msg(11, msg(1, "a"), 5, msg(8, "a"), 12, msg(1, "b"))))
	f.Fuzz(func(t *testing.T, data []byte) {
		in, out, err := IO(data)
		if err != nil && (in != nil || out != nil) {
			t.Fatalf("error %v with names %v → %v", err, in, out)
		}
	})
}
