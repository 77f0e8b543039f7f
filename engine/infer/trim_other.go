//go:build !linux

package infer

func releaseFreedHeap() {}
