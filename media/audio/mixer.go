package audio

import (
	"sort"
	"sync"
	"time"
)

// Source is something the mixer plays: a participant's JitterBuffer, or a
// test signal.
type Source interface {
	// Pull fills out and reports whether it holds sound (false: silence).
	Pull(out []int16) bool
}

// Mixer sums its sources into the speaker signal. Mix is called from the
// audio device's callback; Add and Remove from anywhere.
type Mixer struct {
	mu      sync.Mutex
	sources map[string]*mixerSource
	buf     []int16
	acc     []int32
}

type mixerSource struct {
	src Source
	// lastSound is when the source last delivered sound above the
	// audible floor: "who is playing" in reports.
	lastSound time.Time
}

// NewMixer returns an empty mixer.
func NewMixer() *Mixer {
	return &Mixer{sources: make(map[string]*mixerSource)}
}

// Add plays src under key (replacing what played under it).
func (m *Mixer) Add(key string, src Source) {
	m.mu.Lock()
	m.sources[key] = &mixerSource{src: src}
	m.mu.Unlock()
}

// Remove stops playing key and returns its source (nil if none).
func (m *Mixer) Remove(key string) Source {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.sources[key]
	delete(m.sources, key)
	if s == nil {
		return nil
	}
	return s.src
}

// audibleFloor is the peak below which a source counts as silent (about
// -50 dBFS: comfort noise and dither do not count as playing).
const audibleFloor = 100

// Mix fills out with the sum of every source, clipped to 16 bits.
func (m *Mixer) Mix(out []int16, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if cap(m.buf) < len(out) {
		m.buf = make([]int16, len(out))
		m.acc = make([]int32, len(out))
	}
	buf, acc := m.buf[:len(out)], m.acc[:len(out)]
	clear(acc)
	for _, s := range m.sources {
		if !s.src.Pull(buf) {
			continue
		}
		var peak int32
		for i, v := range buf {
			acc[i] += int32(v)
			peak = max(peak, abs(int32(v)))
		}
		if peak > audibleFloor {
			s.lastSound = now
		}
	}
	for i, v := range acc {
		out[i] = int16(min(max(v, -32768), 32767))
	}
}

// Playing lists the keys whose sources were audible within window of now.
func (m *Mixer) Playing(now time.Time, window time.Duration) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var keys []string
	for k, s := range m.sources {
		if !s.lastSound.IsZero() && now.Sub(s.lastSound) <= window {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

func abs[T int | int32 | int64](v T) T {
	if v < 0 {
		return -v
	}
	return v
}
