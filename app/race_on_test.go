//go:build race

package app

// raceDetector is whether the tests run under the race detector, whose shadow memory shares
// the engine's address-space limit.
const raceDetector = true
