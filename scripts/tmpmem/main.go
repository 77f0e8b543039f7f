package main

import (
	"fmt"
	"os"
	"runtime/debug"
	"strings"

	ort "github.com/yalue/onnxruntime_go"

	"cutout/app"
	"cutout/engine/infer"
)

func st(tag string) {
	data, _ := os.ReadFile("/proc/self/status")
	var o []string
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmRSS") || strings.HasPrefix(line, "VmHWM") {
			o = append(o, strings.Join(strings.Fields(line), " "))
		}
	}
	fmt.Println(tag, o)
}

func main() {
	model := os.Args[1]
	level := os.Args[2]
	infer.Init("")
	st("init")
	m, data, err := app.EngineConfig{Model: model}.LoadModel()
	if err != nil {
		panic(err)
	}
	st("loaded bytes")
	s, err := infer.NewSession(m, data, infer.SessionOptions{Tune: func(so *ort.SessionOptions) error {
		switch level {
		case "ext":
			return so.SetGraphOptimizationLevel(ort.GraphOptimizationLevelEnableExtended)
		case "par":
			so.SetExecutionMode(ort.ExecutionModeParallel)
		case "parpat":
			so.SetExecutionMode(ort.ExecutionModeParallel)
			so.SetMemPattern(true)
		}
		for _, kv := range os.Args[3:] {
			k, v, _ := strings.Cut(kv, "=")
			if err := so.AddSessionConfigEntry(k, v); err != nil {
				return err
			}
		}
		return nil
	}})
	if err != nil {
		panic(err)
	}
	data = nil
	st("session")
	debug.FreeOSMemory()
	st("session+freeOS")
	n := s.Side() * s.Side()
	in, out := make([]float32, 3*n), make([]float32, n)
	for i := 0; i < 3; i++ {
		s.Run(in, out)
		st(fmt.Sprint("run", i))
	}
}
