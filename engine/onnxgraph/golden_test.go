package onnxgraph

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"testing"
)

// The rewrites of the shipped models, each applied to what comes before it in the order
// infer.NewSession applies them, on the CPU (the light convolutions dequantised) and on CUDA
// (no widening, every convolution dequantised), give exactly the bytes they gave when they
// were written: a change to the walker or to a rewrite that alters what ONNX Runtime loads
// shows here, whatever its tests on small models say.
func TestShippedModelsRewriteAsBefore(t *testing.T) {
	sum := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	pruned := func(t *testing.T, data []byte, keep string) []byte {
		t.Helper()
		p, err := PlanPrune(data, keep)
		if err != nil || p == nil {
			t.Fatalf("prune: plan %v, %v", p, err)
		}
		return p.Apply(bytes.Clone(data))
	}
	type want struct {
		wide            string // "": not widened
		dequant         string // at LightConv, after widening; "": nothing dequantised
		cpu             string // the CPU's model: the above, pruned
		dequantAll, gpu string // every convolution dequantised (""; none), then pruned
	}
	for name, w := range map[string]want{
		"isnet-general-q8": {
			dequant:    "f48f55e95bf392ab2f65ee71acdae223848f66c28f0fd1d093d65cca2b166532",
			cpu:        "cc5fe66b755f4b5a8ceeb1f1fbc8fafdbc0b1646fbf0ff5b36e66d82e8da21f8",
			dequantAll: "5ef93179514666b945943181590c61557e345464d74d0b461bcfb1c095200a04",
			gpu:        "0e722b0019f9b9fe293801b320179bd3006f5b81815b882f25441842f2a6baaa",
		},
		"isnet-general": {
			wide: "8fc56167804788691c55553e50328a098b3a216ac252ac53f4534e9dca09c122",
			cpu:  "adaf267e6966b9cbe247537dc413bef9952b7979e436e3bea8d941f9939d9579",
			gpu:  "2d57b1ed1a3c323dec07e8e147dff85ff50787f3df431a05e0ee3631670a49ef",
		},
	} {
		t.Run(name, func(t *testing.T) {
			m, data := shippedModel(t, name)
			check := func(stage string, b []byte, changed bool, want string) {
				t.Helper()
				switch {
				case want == "" && changed:
					t.Errorf("%s: changed the model (%s), which it left as it was", stage, sum(b))
				case want != "" && !changed:
					t.Errorf("%s: left the model as it was", stage)
				case want != "" && sum(b) != want:
					t.Errorf("%s: SHA-256 %s, want %s", stage, sum(b), want)
				}
			}
			cpu, changed, err := Widen(data)
			if err != nil {
				t.Fatal(err)
			}
			check("widen", cpu, changed, w.wide)
			dq, n, err := Dequantize(cpu, LightConv)
			if err != nil {
				t.Fatal(err)
			}
			check("dequantize", dq, n > 0, w.dequant)
			check("prune (CPU)", pruned(t, dq, m.Output), true, w.cpu)
			dq, n, err = Dequantize(data, math.MaxInt)
			if err != nil {
				t.Fatal(err)
			}
			check("dequantize all", dq, n > 0, w.dequantAll)
			check("prune (CUDA)", pruned(t, dq, m.Output), true, w.gpu)
		})
	}
}
