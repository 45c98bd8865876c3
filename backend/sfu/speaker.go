package sfu

import (
	"math"
	"sync"
	"time"
)

// Audio levels follow RFC 6464: 0 is the loudest (0 dBov), 127 is silence
// (-127 dBov). A packet is "loud" when its level is <= the threshold.
const silentLevel = 127

// LevelToLinear converts an RFC 6464 level (0..127, -dBov) to a linear
// amplitude in 0..1, for meters in a UI.
func LevelToLinear(level uint8) float64 {
	if level >= silentLevel {
		return 0
	}

	return math.Pow(10, -float64(level)/20)
}

// speakerDetector turns audio levels into speaking/not speaking with
// hysteresis: speaking starts after loud packets for onset (gaps shorter than
// gap between them do not break the run) and ends after hangover without a
// loud packet. observe is called by the receiving goroutine, tick by a timer;
// all times are nanoseconds on any monotonic base.
type speakerDetector struct {
	threshold uint8
	onset     int64
	gap       int64
	hangover  int64

	mu        sync.Mutex
	speaking  bool
	loudStart int64 // start of the current run of loud packets, 0: none
	lastLoud  int64
	level     float64 // smoothed level, dBov attenuation
	reported  uint8   // level in the last event
	reportAt  int64
}

func newSpeakerDetector(threshold uint8, onset, hangover time.Duration) *speakerDetector {
	return &speakerDetector{
		threshold: threshold,
		onset:     int64(onset),
		gap:       int64(hangover / 3),
		hangover:  int64(hangover),
		level:     silentLevel,
		reported:  silentLevel,
	}
}

// observe records the level of one audio packet received at now.
func (d *speakerDetector) observe(level uint8, now int64) {
	level &= 0x7f
	d.mu.Lock()
	defer d.mu.Unlock()
	d.level += 0.25 * (float64(level) - d.level)
	if level > d.threshold {
		return
	}
	if d.loudStart == 0 || now-d.lastLoud > d.gap {
		d.loudStart = now
	}
	d.lastLoud = now
}

// tick evaluates the state at now. It reports an event when the speaking
// state changed or, while speaking, when the level moved by 6 dB or more
// (at most every 250 ms).
func (d *speakerDetector) tick(now int64) (speaking bool, level uint8, event bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	level = uint8(math.Round(d.level))
	switch {
	case !d.speaking && d.loudStart != 0 && now-d.lastLoud <= d.gap && d.lastLoud-d.loudStart >= d.onset:
		d.speaking, event = true, true
	case d.speaking && now-d.lastLoud >= d.hangover:
		d.speaking, event = false, true
		d.loudStart = 0
	case d.speaking && absDiff(level, d.reported) >= 6 && now-d.reportAt >= int64(250*time.Millisecond):
		event = true
	}
	if !d.speaking && d.loudStart != 0 && now-d.lastLoud > d.gap {
		d.loudStart = 0
	}
	if event {
		d.reported, d.reportAt = level, now
	}

	return d.speaking, level, event
}

func (d *speakerDetector) currentLevel() uint8 {
	d.mu.Lock()
	defer d.mu.Unlock()

	return uint8(math.Round(d.level))
}

func absDiff(a, b uint8) uint8 {
	if a > b {
		return a - b
	}

	return b - a
}
