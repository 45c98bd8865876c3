package app

import (
	"fmt"

	"parley/media/capture"
)

// Bitrate policy for the video we send.
const (
	// micShare is kept out of a user's cap for the microphone (Opus at
	// 32 kbit/s, media/audio).
	micShare = 32_000
	// minVideoBitrate is the least a video source gets from a user's cap,
	// however many share it.
	minVideoBitrate = 50_000
)

// videoTarget is the bitrate one of our video sources encodes at: the most
// it is worth (max), lowered to the SFU's congestion feedback for the
// track (0: none yet), the room's cap and its share of this user's cap
// (0: none), which sources video sources split.
func videoTarget(maxBps, feedback, roomCap, userCap, sources int) int {
	t := maxBps
	for _, c := range []int{feedback, roomCap} {
		if c > 0 {
			t = min(t, c)
		}
	}
	if userCap > 0 {
		t = min(t, max((userCap-micShare)/max(sources, 1), minVideoBitrate))
	}
	return t
}

// bitrateFor returns what v's source src should aim at now; cheap enough to
// call for every frame.
func (a *App) bitrateFor(m *meeting, v *videoSender, src *capture.Source) int {
	feedback, _ := v.local.TargetBitrate()
	sources := 1
	if p := m.pub; p != nil {
		p.mu.Lock()
		cam := p.camera != nil && !p.camera.local.Muted()
		sources = max(btoi(cam)+btoi(p.shareBusy), 1)
		p.mu.Unlock()
	}
	return videoTarget(src.MaxBitrate, feedback, m.cl.Welcome().Room.MaxBitrate, a.maxBitrate(), sources)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (a *App) maxBitrate() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.opts.MaxBitrate
}

// SetMaxBitrate sets this user's bandwidth cap in kbit/s (0: none), for
// what we send and, separately, what we receive; it applies at once in a
// meeting and to the next one.
func (a *App) SetMaxBitrate(kbps int) error {
	if kbps < 0 {
		return fmt.Errorf("bandwidth cap %d kbit/s: must not be negative", kbps)
	}
	a.mu.Lock()
	a.opts.MaxBitrate = kbps * 1000
	a.mu.Unlock()
	if m, err := a.current(); err == nil {
		m.cl.SetMaxReceiveBitrate(kbps * 1000)
	}
	return nil
}

// MaxBitrate is this user's bandwidth cap in kbit/s (0: none).
func (a *App) MaxBitrate() int { return a.maxBitrate() / 1000 }
