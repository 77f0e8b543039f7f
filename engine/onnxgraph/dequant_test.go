package onnxgraph

import (
	"encoding/binary"
	"math"
	"slices"
	"testing"

	ort "github.com/yalue/onnxruntime_go"
)

// Test tensors, as TensorProto bytes.
func floatConst(name string, dims []int, vals []float32) []byte {
	t := constHead(name, dims, onnxFloat)
	raw := make([]byte, 0, 4*len(vals))
	for _, v := range vals {
		raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(v))
	}
	return appendMessage(t, tensorRawData, raw)
}

func constHead(name string, dims []int, dt int) []byte {
	var t []byte
	for _, d := range dims {
		t = append(t, msg(tensorDims, d)...)
	}
	return append(t, msg(tensorDataType, dt, tensorName, name)...)
}

// quantConv describes the tiny dynamically quantised convolution model of quantModel.
type quantConv struct {
	w          []byte // [3, 2, 3, 3] uint8
	zero       int
	scale      float32
	bias       []float32 // 3, or nil for no Add
	biasDirect bool      // the bias is a [1, 3, 1, 1] constant, not a reshaped 1-D one
	perChannel bool      // the weight scale has one value per output channel (left alone)
	outputMid  bool      // the Cast's result is also a graph output (left alone)
}

// quantModel is y = Relu(conv(x, W) + b), x [1, 2, 5, 5], 3×3 kernel, pads 1, built the way
// onnxruntime.quantization.quantize_dynamic writes it: DynamicQuantizeLinear, ConvInteger,
// Cast, Mul by the product of the scales, Add of the bias reshaped to [1, 3, 1, 1]. The zero
// point is in int32_data, the weights in raw_data.
func quantModel(c quantConv) []byte {
	typ := func(elem int, dims ...int) []byte {
		var shape []any
		for _, d := range dims {
			shape = append(shape, 1, msg(1, d))
		}
		return msg(1, msg(1, elem, 2, msg(shape...)))
	}
	ints := func(name string, v ...int) []byte {
		a := msg(1, name, 20, 7) // type INTS
		for _, x := range v {
			a = append(a, msg(8, x)...)
		}
		return a
	}
	scale := []float32{c.scale}
	scaleDims := []int{}
	if c.perChannel {
		scale, scaleDims = []float32{c.scale, c.scale, c.scale}, []int{3}
	}
	w := appendMessage(constHead("W", []int{3, 2, 3, 3}, onnxUint8), tensorRawData, c.w)
	zero := append(constHead("W_zero", nil, onnxUint8), msg(tensorInt32Data, c.zero)...)
	shape := appendMessage(constHead("shape", []int{4}, onnxInt64), tensorRawData,
		binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(
			binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, 1), 3), 1), 1))
	graph := msg(
		graphNode, msg(1, "x", 2, "xq", 2, "xs", 2, "xz", 3, "quant", 4, "DynamicQuantizeLinear"),
		graphNode, msg(1, "xs", 1, "W_scale", 2, "s", 3, "scales", 4, "Mul"),
		graphNode, msg(1, "xq", 1, "W", 1, "xz", 1, "W_zero", 2, "yi", 3, "conv", 4, "ConvInteger",
			5, ints("pads", 1, 1, 1, 1), 5, ints("kernel_shape", 3, 3)),
		graphNode, msg(1, "yi", 2, "yf", 3, "cast", 4, "Cast", 5, msg(1, "to", 3, onnxFloat, 20, 2)),
		graphNode, msg(1, "yf", 1, "s", 2, "ys", 3, "scaled", 4, "Mul"),
		graphInitializer, w, graphInitializer, zero,
		graphInitializer, floatConst("W_scale", scaleDims, scale),
		graphInput, msg(1, "x", 2, typ(onnxFloat, 1, 2, 5, 5)),
		graphOutput, msg(1, "y", 2, typ(onnxFloat, 1, 3, 5, 5)))
	last := "ys"
	if c.bias != nil {
		b := "bias_r"
		if c.biasDirect {
			b = "bias4"
			graph = append(graph, msg(graphInitializer, floatConst("bias4", []int{1, 3, 1, 1}, c.bias))...)
		} else {
			graph = append(graph, msg(
				graphNode, msg(1, "bias", 1, "shape", 2, "bias_r", 3, "reshape", 4, "Reshape"),
				graphInitializer, floatConst("bias", []int{3}, c.bias),
				graphInitializer, shape)...)
		}
		graph = append(graph, msg(graphNode, msg(1, "ys", 1, b, 2, "yb", 3, "add", 4, "Add"))...)
		last = "yb"
	}
	graph = append(graph, msg(graphNode, msg(1, last, 2, "y", 3, "relu", 4, "Relu"))...)
	if c.outputMid {
		graph = append(graph, msg(graphOutput, msg(1, "yf", 2, typ(onnxFloat, 1, 3, 5, 5)))...)
	}
	return msg(1, 7, 2, "cutout-test", modelGraph, graph, 8, msg(1, "", 2, 13))
}

// quantWeights are 54 uint8 weights spread over the range.
func quantWeights() []byte {
	w := make([]byte, 54)
	for i := range w {
		w[i] = byte(i * 97 % 251)
	}
	return w
}

func testInput() []float32 {
	x := make([]float32, 50)
	for i := range x {
		x[i] = float32(math.Sin(float64(i)*0.7)) * 2
	}
	return x
}

// refConv is y = Relu(conv(x, (W − zero)·scale) + b) for quantModel's shapes, in float64.
func refConv(c quantConv, x []float32) []float64 {
	y := make([]float64, 75)
	for m := 0; m < 3; m++ {
		for i := 0; i < 5; i++ {
			for j := 0; j < 5; j++ {
				s := 0.0
				if c.bias != nil {
					s = float64(c.bias[m])
				}
				for ch := 0; ch < 2; ch++ {
					for ki := 0; ki < 3; ki++ {
						for kj := 0; kj < 3; kj++ {
							ii, jj := i+ki-1, j+kj-1
							if ii < 0 || ii >= 5 || jj < 0 || jj >= 5 {
								continue
							}
							wq := c.w[((m*2+ch)*3+ki)*3+kj]
							s += float64(int(wq)-c.zero) * float64(c.scale) * float64(x[(ch*5+ii)*5+jj])
						}
					}
				}
				y[(m*5+i)*5+j] = max(s, 0)
			}
		}
	}
	return y
}

// runQuant runs quantModel-shaped model data on x.
func runQuant(t *testing.T, data []byte, x []float32) []float32 {
	t.Helper()
	return runModel(t, data, "y", x, ort.NewShape(1, 2, 5, 5), ort.NewShape(1, 3, 5, 5))
}

// ops counts the operators of a model's main graph by type.
func ops(t *testing.T, data []byte) map[string]int {
	t.Helper()
	graph, err := bytesField(data, modelGraph)
	if err != nil {
		t.Fatal(err)
	}
	g, err := readGraph(graph)
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, node := range g.nodes {
		n[node.op]++
	}
	n["initializers"] = len(g.inits)
	return n
}

func TestDequantizeTinyModel(t *testing.T) {
	x := testInput()
	for _, c := range []quantConv{
		{w: quantWeights(), zero: 131, scale: 0.004, bias: []float32{0.5, -0.25, 0.125}},
		{w: quantWeights(), zero: 7, scale: 0.01, bias: []float32{-1, 0, 1}, biasDirect: true},
		{w: quantWeights(), zero: 255, scale: 0.002},
	} {
		data := quantModel(c)
		dq, n, err := Dequantize(data, 1000)
		if err != nil || n != 1 {
			t.Fatalf("%+v: %d rewritten, %v", c, n, err)
		}
		got := ops(t, dq)
		want := map[string]int{"Conv": 1, "Relu": 1}
		want["initializers"] = 2 // the float weights and the bias
		if c.bias == nil {
			want["initializers"] = 1
		}
		if !maps(got, want) {
			t.Errorf("rewritten model has %v, want %v", got, want)
		}
		ref := refConv(c, x)
		quant, float := runQuant(t, data, x), runQuant(t, dq, x)
		var worstQ, worstF, top float64
		for i := range ref {
			worstQ = max(worstQ, math.Abs(float64(quant[i])-ref[i]))
			worstF = max(worstF, math.Abs(float64(float[i])-ref[i]))
			top = max(top, math.Abs(ref[i]))
		}
		// The float convolution computes exactly the model's weights; the quantised one
		// rounds the input to 8 bits (2/255 steps here) on top.
		if worstF > 1e-5*top {
			t.Errorf("%+v: dequantised model is %g off the reference (largest value %g)", c, worstF, top)
		}
		if worstQ > 0.05*top || worstQ < worstF {
			t.Errorf("%+v: quantised model is %g off (dequantised %g, largest %g)", c, worstQ, worstF, top)
		}
		if again, n, err := Dequantize(dq, 1000); err != nil || n != 0 || &again[0] != &dq[0] {
			t.Errorf("dequantizing twice changed %d more convolutions (%v)", n, err)
		}
	}
}

func maps(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestDequantizeLeavesWhatItCannot(t *testing.T) {
	base := quantConv{w: quantWeights(), zero: 100, scale: 0.01, bias: []float32{1, 2, 3}}
	heavy := base
	perChannel := base
	perChannel.perChannel = true
	mid := base
	mid.outputMid = true
	for name, c := range map[string]quantConv{"too many weights": heavy, "per-channel scale": perChannel,
		"intermediate is a graph output": mid} {
		limit := 1000
		if name == "too many weights" {
			limit = 53
		}
		data := quantModel(c)
		out, n, err := Dequantize(data, limit)
		if err != nil || n != 0 || len(out) != len(data) || &out[0] != &data[0] {
			t.Errorf("%s: %d rewritten (%v), want the model as it was", name, n, err)
		}
	}
	// Not models at all, or models without the chain.
	for _, data := range [][]byte{nil, []byte("not a model"), tinyModel(false), halfModel()} {
		out, n, err := Dequantize(data, 1000)
		if n != 0 || (err == nil && !slices.Equal(out, data)) {
			t.Errorf("%q: %d rewritten, %v", data, n, err)
		}
	}
}

// The shipped quantised ISNet has its light convolutions rewritten and keeps its inputs and
// outputs (infer's tests compare its masks with the quantised and the fp16 models').
func TestDequantizeRealModel(t *testing.T) {
	_, data := shippedModel(t, "isnet-general-q8")
	dq, n, err := Dequantize(data, LightConv)
	if err != nil {
		t.Fatal(err)
	}
	before, after := ops(t, data), ops(t, dq)
	if n < 50 || after["Conv"] != n || after["ConvInteger"] != before["ConvInteger"]-n ||
		after["DynamicQuantizeLinear"] >= before["DynamicQuantizeLinear"] || after["Cast"] != before["Cast"]-n {
		t.Errorf("%d convolutions rewritten: operators %v → %v", n, before, after)
	}
	in0, out0, _ := IO(data)
	if in, out, err := IO(dq); err != nil || !slices.Equal(in, in0) || !slices.Equal(out, out0) {
		t.Errorf("rewritten model's inputs %v, outputs %v (%v), want %v, %v", in, out, err, in0, out0)
	}
}

func FuzzDequantize(f *testing.F) {
	f.Add(quantModel(quantConv{w: quantWeights(), zero: 3, scale: 0.5, bias: []float32{1, 2, 3}}))
	f.Add(quantModel(quantConv{w: quantWeights(), zero: 3, scale: 0.5, bias: []float32{1, 2, 3}, biasDirect: true}))
	f.Add(quantModel(quantConv{w: quantWeights(), zero: 3, scale: 0.5}))
	f.Add(tinyModel(false))
	f.Fuzz(func(t *testing.T, data []byte) {
		out, n, err := Dequantize(data, 1<<20)
		if err != nil || n == 0 {
			return
		}
		// A rewritten model parses, keeps its inputs and outputs, and has nothing left to do.
		in0, out0, err0 := IO(data)
		in1, out1, err1 := IO(out)
		if err0 == nil && (err1 != nil || !slices.Equal(in0, in1) || !slices.Equal(out0, out1)) {
			t.Fatalf("inputs/outputs %v %v → %v %v (%v)", in0, out0, in1, out1, err1)
		}
		if _, again, err := Dequantize(out, 1<<20); err != nil || again != 0 {
			t.Fatalf("second pass rewrote %d more (%v)", again, err)
		}
	})
}

func BenchmarkDequantize(b *testing.B) {
	_, data := shippedModel(b, "isnet-general-q8")
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, n, err := Dequantize(data, LightConv); err != nil || n == 0 {
			b.Fatal(n, err)
		}
	}
}
