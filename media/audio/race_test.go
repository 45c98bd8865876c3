//go:build race

package audio

// raceDetector: this test binary runs under the race detector, which
// slows every goroutine, the test's device clock included.
const raceDetector = true
