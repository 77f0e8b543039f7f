package infer

import (
	"math"
	"path/filepath"
	"slices"
	"testing"

	"cutout/engine/onnxgraph"
)

// The rewrites NewSession makes (engine/onnxgraph) change what the installed models predict
// by nothing (pruning) or by little (widening, dequantizing), through real sessions.

func rocket(t *testing.T) []byte {
	t.Helper()
	return readFile(t, filepath.Join(repoRoot(t), "assets", "samples", "rocket.jpg"))
}

// The pruned ISNets give exactly the same prediction as the whole models.
func TestPruneRealModels(t *testing.T) {
	if testing.Short() {
		t.Skip("runs each model twice")
	}
	realEngine(t)
	img, err := Decode(rocket(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"isnet-general-q8", "isnet-general"} {
		m, data := installedModel(t, name)
		whole := modelMask(t, m, data, SessionOptions{Device: DeviceCPU, keepAll: true}, img)
		part := modelMask(t, m, data, SessionOptions{Device: DeviceCPU}, img)
		if !slices.Equal(whole, part) {
			t.Errorf("%s: the pruned model predicts differently", name)
		}
	}
}

// The real fp16 ISNet, widened, gives the same mask to well within one 8-bit level.
func TestWidenRealModel(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the fp16 model twice")
	}
	realEngine(t)
	m, data := installedModel(t, "isnet-general")
	wide, changed, err := onnxgraph.Widen(data)
	if err != nil || !changed {
		t.Fatalf("widen: changed %v, %v", changed, err)
	}
	img, err := Decode(rocket(t))
	if err != nil {
		t.Fatal(err)
	}
	masks := [][]float32{
		modelMask(t, m, data, SessionOptions{Device: DeviceCPU, keepHalf: true}, img),
		modelMask(t, m, wide, SessionOptions{Device: DeviceCPU}, img),
	}
	worst, flipped := 0.0, 0
	for k := range masks[0] {
		worst = max(worst, math.Abs(float64(masks[0][k]-masks[1][k])))
		if (masks[0][k] > 0.5) != (masks[1][k] > 0.5) {
			flipped++
		}
	}
	t.Logf("fp16 vs widened: largest difference %.5f, %d of %d pixels change side", worst, flipped, len(masks[0]))
	if worst > 0.5/255 || flipped > len(masks[0])/10000 {
		t.Errorf("widened model differs: largest difference %.5f, %d pixels change side", worst, flipped)
	}
}

// The quantised ISNet with its light convolutions in float gives nearly the quantised mask,
// and one nearer the fp16 model's.
func TestDequantizeRealModel(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the quantised model twice and the fp16 one once")
	}
	realEngine(t)
	m, data := installedModel(t, "isnet-general-q8")
	img, err := Decode(rocket(t))
	if err != nil {
		t.Fatal(err)
	}
	quant := modelMask(t, m, data, SessionOptions{Device: DeviceCPU, keepQuant: true}, img)
	float := modelMask(t, m, data, SessionOptions{Device: DeviceCPU}, img) // NewSession dequantizes
	fm, fdata := installedModel(t, "isnet-general")
	full := modelMask(t, fm, fdata, SessionOptions{Device: DeviceCPU}, img)
	var dq8, dqF, q8F float64
	flipped := 0
	for i := range quant {
		dq8 += math.Abs(float64(float[i] - quant[i]))
		dqF += math.Abs(float64(float[i] - full[i]))
		q8F += math.Abs(float64(quant[i] - full[i]))
		if (float[i] > 0.5) != (quant[i] > 0.5) {
			flipped++
		}
	}
	k := float64(len(quant))
	t.Logf("mean |Δ| dequantised vs quantised %.5f, vs the fp16 model %.5f (quantised vs fp16 %.5f); %d of %d pixels change side",
		dq8/k, dqF/k, q8F/k, flipped, len(quant))
	if dq8/k > 0.005 || flipped > len(quant)/200 {
		t.Errorf("the dequantised mask differs from the quantised one by %.5f on average, %d pixels change side", dq8/k, flipped)
	}
	// Activations no longer rounded to 8 bits: the mask is nearer the full-precision model's.
	if dqF > q8F {
		t.Errorf("dequantised mask is %.5f from the fp16 model's, the quantised one %.5f", dqF/k, q8F/k)
	}
}
