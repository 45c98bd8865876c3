package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pion/webrtc/v4"

	"parley/backend/client"
	"parley/backend/rtcconf"
	"parley/backend/signal"
	"parley/media/audio"
)

// DeviceInfo is a camera, microphone or speaker for the pickers.
type DeviceInfo struct {
	Kind      string `json:"kind"` // "videoinput", "audioinput", "audiooutput"
	ID        string `json:"id"`
	Label     string `json:"label"`
	IsDefault bool   `json:"isDefault,omitempty"`
	// Selected marks the device in use (or chosen for the next meeting).
	Selected bool `json:"selected,omitempty"`
}

// Devices lists cameras, microphones and speakers. No camera is a normal
// state (an empty list), and so is no sound server (no audio devices).
func (a *App) Devices() ([]DeviceInfo, error) {
	out := []DeviceInfo{}
	cams := a.cameras()
	cam, _ := a.cameraChoice(cams)
	for _, c := range cams {
		out = append(out, DeviceInfo{Kind: "videoinput", ID: c.ID, Label: c.Label, Selected: c.ID == cam.ID})
	}
	a.audio.mu.Lock()
	ctx, err := a.audio.soundServer()
	a.audio.mu.Unlock()
	if err != nil {
		a.opts.Log.Debug("no audio devices", "err", err)
		return out, nil
	}
	mics, speakers, err := ctx.Devices()
	if err != nil {
		return out, nil
	}
	mic, speaker := a.deviceChoice()
	chosen := func(d audio.Device, want string) bool {
		return d.ID == want || d.Name == want || (want == "" && d.Default)
	}
	for _, d := range mics {
		out = append(out, DeviceInfo{Kind: "audioinput", ID: d.ID, Label: d.Name, IsDefault: d.Default, Selected: chosen(d, mic)})
	}
	for _, d := range speakers {
		out = append(out, DeviceInfo{Kind: "audiooutput", ID: d.ID, Label: d.Name, IsDefault: d.Default, Selected: chosen(d, speaker)})
	}
	return out, nil
}

// SelectDevice chooses the camera ("videoinput"), microphone
// ("audioinput") or speaker ("audiooutput") and remembers the choice for
// the next run. In a meeting the switch happens at once, without leaving:
// the published tracks stay, only what feeds them changes.
func (a *App) SelectDevice(kind, id string) error {
	a.mu.Lock()
	prev := a.opts
	prefs := a.prefs
	if err := prefs.set(kind, id); err != nil {
		a.mu.Unlock()
		return err
	}
	switch kind {
	case "audioinput":
		a.opts.Mic = id
	case "audiooutput":
		a.opts.Speaker = id
	case "videoinput":
		a.opts.Camera = id
	}
	a.prefs = prefs
	a.mu.Unlock()
	if err := savePrefs(a.opts.ConfigDir, prefs); err != nil {
		a.opts.Log.Warn("device choice not saved", "err", err)
	}
	m, err := a.current()
	if err != nil || a.opts.Source != SourceDevices {
		return nil // remembered for the next meeting
	}
	switch kind {
	case "videoinput":
		if prev.Camera == id {
			return nil
		}
		if err := a.switchCamera(m, id); err != nil {
			a.mu.Lock()
			a.opts.Camera = prev.Camera
			a.mu.Unlock()
			return err
		}
	case "audioinput":
		if prev.Mic != id {
			a.restartMic()
		}
	case "audiooutput":
		if prev.Speaker == id {
			return nil
		}
		if m.pub != nil && m.pub.mic != nil {
			a.restartMic()
		} else if err := a.audio.start(nil); err != nil {
			return fmt.Errorf("speaker: %w", err)
		}
	}
	return nil
}

// MicLevel is the microphone level after echo cancellation, 0..1.
func (a *App) MicLevel() float64 { return a.audio.micLevel() }

func (a *App) deviceChoice() (mic, speaker string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.opts.Mic, a.opts.Speaker
}

// toast tells the user something went wrong with a device, without
// ending anything.
func (a *App) toast(msg string) {
	a.emit(toastEvent{Type: "toast", Message: msg})
}

type toastEvent struct {
	Type    string `json:"type"` // "toast"
	Message string `json:"message"`
}

// micTrack is the published microphone: the track stays, the capture path
// behind it can be rebuilt (device switch, device lost).
type micTrack struct {
	out   *webrtc.TrackLocalStaticSample
	local *client.LocalTrack
}

// publishDevices publishes the microphone (and the camera when there is
// one) and starts the speaker.
func (a *App) publishDevices(m *meeting, p *publication) error {
	track, err := webrtc.NewTrackLocalStaticSample(rtcconf.OpusCodec().RTPCodecCapability, micTrackID, m.cl.ID())
	if err != nil {
		return fmt.Errorf("audio track: %w", err)
	}
	ctx, cancel := context.WithTimeout(m.ctx, 15*time.Second)
	defer cancel()
	lt, err := m.cl.Publish(ctx, signal.KindAudio, track, client.PublishOptions{Muted: a.startMuted("audio")})
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.tracks["audio"] = lt
	p.mic = &micTrack{out: track, local: lt}
	p.mu.Unlock()
	if err := a.startMic(p.mic); err != nil {
		// A meeting without a working microphone is still a meeting, with
		// the microphone shown off (to us and to the room) until one
		// opens.
		a.opts.Log.Warn("microphone unavailable", "err", err)
		if err := a.audio.start(nil); err != nil {
			a.opts.Log.Warn("speaker unavailable", "err", err)
		}
		a.localMute(m, "audio")
		a.toast(micProblem(err))
	}
	if err := a.publishCamera(m, p); err != nil {
		a.opts.Log.Warn("camera unavailable", "err", err)
		a.localMute(m, "video")
		a.toast("Camera unavailable: " + err.Error())
	}
	return nil
}

// startMic opens the speaker and the microphone through a fresh Sender.
func (a *App) startMic(mt *micTrack) error {
	sender, err := audio.NewSender(mt.out, func() bool { return !mt.local.Muted() })
	if err != nil {
		return err
	}
	if err := a.audio.start(sender); err != nil {
		sender.Discard()
		return err
	}
	return nil
}

// publishedMic is the current meeting and its microphone track (nil:
// none).
func (a *App) publishedMic() (*meeting, *micTrack) {
	m, err := a.current()
	if err != nil || m.pub == nil {
		return nil, nil
	}
	m.pub.mu.Lock()
	defer m.pub.mu.Unlock()
	return m, m.pub.mic
}

// restartMic rebuilds the microphone path on the current devices.
func (a *App) restartMic() {
	m, mt := a.publishedMic()
	if mt == nil {
		return
	}
	if err := a.startMic(mt); err != nil {
		a.opts.Log.Warn("microphone unavailable", "err", err)
		_ = a.audio.start(nil)
		a.localMute(m, "audio")
		a.toast(micProblem(err))
	}
}

// micProblem is the toast for a microphone that would not start: the
// audio error already names the microphone.
func micProblem(err error) string {
	if errors.Is(err, audio.ErrNoMic) {
		return "No microphone connected: your microphone stays off until one is."
	}
	return "Microphone unavailable (" + err.Error() + "): it stays off."
}

// ensureMic starts the microphone when it is turned on and none runs.
func (a *App) ensureMic(m *meeting) error {
	m.pub.mu.Lock()
	mt := m.pub.mic
	m.pub.mu.Unlock()
	a.audio.mu.Lock()
	running := a.audio.sender != nil
	a.audio.mu.Unlock()
	if mt == nil || running {
		return nil
	}
	mic, _ := a.deviceChoice()
	if !a.audio.connected(mic) {
		next, ok := a.audio.fallbackMic()
		if !ok {
			return audio.ErrNoMic
		}
		a.mu.Lock()
		a.opts.Mic = next.ID
		a.mu.Unlock()
	}
	if err := a.startMic(mt); err != nil {
		_ = a.audio.start(nil)
		return err
	}
	return nil
}
