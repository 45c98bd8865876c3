//go:build !race

package audio

const raceDetector = false
