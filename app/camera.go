package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"parley/backend/client"
	"parley/backend/rtcconf"
	"parley/backend/signal"
	"parley/media/capture"
	"parley/media/render"
	"parley/media/vp8"
)

const screenTrackID = "screen"

// cameraInfo is a camera as the picker lists it.
type cameraInfo struct {
	ID, Label string
}

// cameras lists video capture devices (none is a normal state), then the
// virtual pattern cameras the options ask for.
func (a *App) cameras() []cameraInfo {
	var out []cameraInfo
	for _, c := range capture.Cameras() {
		out = append(out, cameraInfo{ID: c.ID, Label: c.Label})
	}
	for _, c := range capture.PatternCameras(a.opts.PatternCameras) {
		out = append(out, cameraInfo{ID: c.ID, Label: c.Label})
	}
	return out
}

// videoSender is one published video track (camera or screen) and the
// source feeding it. The source can be replaced while the track stays:
// viewers keep their tile and decoder, and see at most a short freeze
// until the new source's first keyframe.
type videoSender struct {
	out   *vp8.Track
	local *client.LocalTrack
	self  *render.Track
	start time.Time // of the self view's timestamps
	// bitrate is what the encoder of src should aim at now.
	bitrate func(src *capture.Source) int

	// op serializes feed and stop (user switches, fallbacks, leaving).
	op     sync.Mutex
	mu     sync.Mutex
	src    *capture.Source
	device cameraInfo
	cancel context.CancelFunc
	done   chan struct{}
}

// keyframe asks the current source for a keyframe (a viewer needs one).
func (v *videoSender) keyframe() {
	v.mu.Lock()
	src := v.src
	v.mu.Unlock()
	if src != nil {
		src.ForceKeyframe()
	}
}

// current is the source being sent (nil: none) and its device.
func (v *videoSender) current() (*capture.Source, cameraInfo) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.src, v.device
}

// run sends src's frames until ctx ends or src fails (onFail is then
// called, from this goroutine: it must not wait for run to return).
func (v *videoSender) run(ctx context.Context, src *capture.Source, done chan struct{}, onFail func(*capture.Source, error)) {
	defer close(done)
	frameDur := time.Second / time.Duration(max(src.FPS, 1))
	var gate muteGate
	for ctx.Err() == nil {
		f, err := src.Read()
		if err != nil {
			if ctx.Err() == nil {
				onFail(src, err)
			}
			return
		}
		if !gate.pass(v.local.Muted(), f.Keyframe, src.ForceKeyframe) {
			continue
		}
		if bps := v.bitrate(src); bps != src.Bitrate() {
			src.SetBitrate(bps)
		}
		ts := uint32(time.Since(v.start) * 90_000 / time.Second)
		if v.self != nil {
			v.self.WriteFrame(vp8.Frame{Data: f.Data, Keyframe: f.Keyframe, NonReference: f.Droppable, Timestamp: ts})
		}
		if err := v.out.WriteFrame(f.Data, frameDur, f.Droppable); err != nil {
			if ctx.Err() == nil {
				onFail(src, err)
			}
			return
		}
	}
}

// feed replaces the source (stopping the old one) and starts sending src.
func (v *videoSender) feed(ctx context.Context, src *capture.Source, dev cameraInfo, onFail func(*capture.Source, error)) {
	v.op.Lock()
	defer v.op.Unlock()
	v.feedLocked(ctx, src, dev, onFail)
}

func (v *videoSender) feedLocked(ctx context.Context, src *capture.Source, dev cameraInfo, onFail func(*capture.Source, error)) {
	v.stopLocked()
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	v.mu.Lock()
	v.src, v.device, v.cancel, v.done = src, dev, cancel, done
	v.mu.Unlock()
	go v.run(runCtx, src, done, onFail)
}

// stop stops and closes the source; the track stays. Safe on nil and
// without a source.
func (v *videoSender) stop() {
	if v == nil {
		return
	}
	v.op.Lock()
	defer v.op.Unlock()
	v.stopLocked()
}

func (v *videoSender) stopLocked() {
	v.mu.Lock()
	src, cancel, done := v.src, v.cancel, v.done
	v.src, v.cancel, v.done = nil, nil, nil
	v.mu.Unlock()
	if src == nil {
		return
	}
	cancel()
	// Closing the device unblocks a Read waiting for the next frame.
	_ = src.Close()
	<-done
}

// publishVideo publishes a new video track of kind, with no source yet.
func (a *App) publishVideo(m *meeting, kind signal.Kind, trackID string, muted bool) (*videoSender, error) {
	v := &videoSender{start: time.Now()}
	track, err := vp8.NewTrack(rtcconf.VP8Codec().RTPCodecCapability, trackID, m.cl.ID())
	if err != nil {
		return nil, fmt.Errorf("%s track: %w", kind, err)
	}
	ctx, cancel := context.WithTimeout(m.ctx, 15*time.Second)
	defer cancel()
	lt, err := m.cl.Publish(ctx, kind, track, client.PublishOptions{OnKeyframeRequest: v.keyframe, Muted: muted})
	if err != nil {
		return nil, err
	}
	v.out, v.local = track, lt
	v.bitrate = func(src *capture.Source) int { return a.bitrateFor(m, v, src) }
	v.self = a.render.AddTrack(render.TrackInfo{Participant: m.cl.ID(), Track: trackID}, v.keyframe)
	a.tiles.add(v.self.ID, tileInfo{m: m, participantID: m.cl.ID(), trackID: trackID, kind: kind, self: true})
	a.emit(mediaEvent{Type: "media", ParticipantID: m.cl.ID(), TrackID: trackID, Kind: kind, RenderID: v.self.ID})
	return v, nil
}

// cameraChoice is the camera to open: the chosen one if it is connected,
// else the first one ("" and false: there is no camera).
func (a *App) cameraChoice(cams []cameraInfo) (cameraInfo, bool) {
	a.mu.Lock()
	id := a.opts.Camera
	a.mu.Unlock()
	for _, c := range cams {
		if c.ID == id || c.Label == id {
			return c, true
		}
	}
	if capture.IsPattern(id) {
		return cameraInfo{ID: id, Label: "Test pattern"}, true
	}
	if id != "" {
		a.opts.Log.Info("the chosen camera is not connected; using the first one", "camera", id)
	}
	if len(cams) == 0 {
		return cameraInfo{}, false
	}
	return cams[0], true
}

// publishCamera publishes the chosen camera, if there is one.
func (a *App) publishCamera(m *meeting, p *publication) error {
	dev, ok := a.cameraChoice(a.cameras())
	if !ok {
		// No camera is a normal state: the camera shows as off, the tile
		// as an avatar.
		a.localMute(m, "video")
		return nil
	}
	src, err := capture.OpenCamera(dev.ID, a.camOpts)
	if err != nil {
		return err
	}
	return a.feedCamera(m, p, src, dev)
}

// feedCamera sends src on the camera track, publishing the track first if
// there is none yet (no camera when the meeting started).
func (a *App) feedCamera(m *meeting, p *publication, src *capture.Source, dev cameraInfo) error {
	p.mu.Lock()
	v := p.camera
	p.mu.Unlock()
	if v == nil {
		var err error
		if v, err = a.publishVideo(m, signal.KindVideo, cameraTrackID, a.startMuted("video")); err != nil {
			_ = src.Close()
			return err
		}
		p.mu.Lock()
		p.camera = v
		p.tracks["video"] = v.local
		p.keyframe = v.keyframe
		p.mu.Unlock()
	}
	v.feed(m.ctx, src, dev, func(src *capture.Source, err error) {
		go a.cameraLost(m, v, src, err)
	})
	a.opts.Log.Info("camera on", "camera", dev.Label, "size", fmt.Sprintf("%dx%d", src.Width, src.Height))
	return nil
}

// switchCamera sends camera id instead of the current one, mid-call.
func (a *App) switchCamera(m *meeting, id string) error {
	cams := a.cameras()
	dev := cameraInfo{ID: id, Label: id}
	if i := slices.IndexFunc(cams, func(c cameraInfo) bool { return c.ID == id }); i >= 0 {
		dev = cams[i]
	} else if !capture.IsPattern(id) {
		return fmt.Errorf("camera %q: %w", id, capture.ErrNoDevice)
	}
	src, err := capture.OpenCamera(id, a.camOpts)
	if err != nil {
		return fmt.Errorf("camera %s: %w", dev.Label, err)
	}
	return a.feedCamera(m, m.pub, src, dev)
}

// ensureCamera starts a camera when the camera is turned on and none is
// running (it was lost, or there was none when the meeting started).
func (a *App) ensureCamera(m *meeting) error {
	p := m.pub
	p.mu.Lock()
	v := p.camera
	p.mu.Unlock()
	if v != nil {
		if src, _ := v.current(); src != nil {
			return nil
		}
	}
	dev, ok := a.cameraChoice(a.cameras())
	if !ok {
		return errNoCamera
	}
	src, err := capture.OpenCamera(dev.ID, a.camOpts)
	if err != nil {
		return fmt.Errorf("camera %s: %w", dev.Label, err)
	}
	return a.feedCamera(m, p, src, dev)
}

var errNoCamera = errors.New("no camera found")

// cameraLost handles a camera unplugged mid-call: the next camera takes
// over, or the camera turns off. Never fatal.
func (a *App) cameraLost(m *meeting, v *videoSender, src *capture.Source, err error) {
	v.op.Lock()
	defer v.op.Unlock()
	cur, lost := v.current()
	if cur != src {
		return // already replaced or stopped
	}
	a.opts.Log.Warn("camera stopped", "camera", lost.Label, "err", err)
	v.stopLocked()
	for _, c := range a.cameras() {
		if c.ID == lost.ID {
			continue
		}
		next, err := capture.OpenCamera(c.ID, a.camOpts)
		if err != nil {
			a.opts.Log.Warn("camera unavailable", "camera", c.Label, "err", err)
			continue
		}
		a.mu.Lock()
		a.opts.Camera = c.ID
		a.mu.Unlock()
		v.feedLocked(m.ctx, next, c, func(src *capture.Source, err error) {
			go a.cameraLost(m, v, src, err)
		})
		a.toast("Camera disconnected — switched to " + c.Label)
		return
	}
	a.localMute(m, "video")
	a.toast("Camera disconnected — camera turned off")
}

// localMute turns our camera or microphone off because its device is
// gone, and tells the webview (its button shows it off).
func (a *App) localMute(m *meeting, kind string) {
	a.mu.Lock()
	a.muted[kind] = true
	a.mu.Unlock()
	if err := m.pub.setMuted(kind, true); err != nil {
		a.opts.Log.Warn("mute after losing the device", "kind", kind, "err", err)
	}
	a.emit(localMuteEvent{Type: "local-mute", Kind: kind, Muted: true})
}

// localMuteEvent: the app muted our "audio" or "video" by itself.
type localMuteEvent struct {
	Type  string `json:"type"` // "local-mute"
	Kind  string `json:"kind"`
	Muted bool   `json:"muted"`
}

// ScreenInfo is a screen for the share picker.
type ScreenInfo struct {
	ID    string `json:"id"`
	Label string `json:"label"`
}

// Screens lists the screens that can be shared; on a Wayland session
// without XWayland the error says that sharing needs X11 or XWayland.
func (a *App) Screens() ([]ScreenInfo, error) {
	out := []ScreenInfo{}
	for _, s := range capture.Screens() {
		out = append(out, ScreenInfo{ID: s.ID, Label: s.Label})
	}
	if len(out) == 0 {
		return out, capture.ScreensErr()
	}
	return out, nil
}

// ShareScreen shares screen id ("" = the first) as a separate "screen"
// track, at most 1280×720 and 15 fps.
func (a *App) ShareScreen(id string) error {
	m, err := a.current()
	if err != nil {
		return err
	}
	p := m.pub
	p.mu.Lock()
	if p.shareBusy {
		p.mu.Unlock()
		return errors.New("already sharing")
	}
	p.shareBusy = true
	p.mu.Unlock()
	err = a.startShare(m, id)
	if err != nil {
		p.mu.Lock()
		p.shareBusy = false
		p.mu.Unlock()
		return fmt.Errorf("share screen: %w", err)
	}
	return nil
}

// startShare opens the screen and publishes it as a new screen track.
func (a *App) startShare(m *meeting, id string) error {
	src, err := capture.OpenScreen(id, capture.ScreenOptions())
	if err != nil {
		return err
	}
	v, err := a.publishVideo(m, signal.KindScreen, screenTrackID, false)
	if err != nil {
		_ = src.Close()
		return err
	}
	m.pub.mu.Lock()
	m.pub.screen = v
	m.pub.mu.Unlock()
	v.feed(m.ctx, src, cameraInfo{ID: id}, func(_ *capture.Source, err error) {
		a.opts.Log.Warn("screen capture stopped", "err", err)
		a.toast("Screen sharing stopped: " + err.Error())
		go func() { _ = a.StopShare() }()
	})
	a.opts.Log.Info("sharing the screen", "size", fmt.Sprintf("%dx%d", src.Width, src.Height))
	return nil
}

// StopShare stops sharing and takes the screen track out of the room
// (a muted one left an empty screen tile on everyone's stage). A share
// stays busy until then, so the next one publishes the id afresh.
func (a *App) StopShare() error {
	m, err := a.current()
	if err != nil {
		return err
	}
	p := m.pub
	p.mu.Lock()
	v := p.screen
	if v == nil || !p.shareBusy {
		p.mu.Unlock()
		return nil
	}
	p.screen = nil
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.shareBusy = false
		p.mu.Unlock()
	}()
	v.stop()
	a.removeSelf(m, v.self, screenTrackID, signal.KindScreen)
	a.emit(screenEndedEvent{Type: "screen-ended"})
	ctx, cancel := context.WithTimeout(m.ctx, 15*time.Second)
	defer cancel()
	if err := m.cl.Unpublish(ctx, screenTrackID); err != nil {
		return fmt.Errorf("stop sharing: %w", err)
	}
	return nil
}

type screenEndedEvent struct {
	Type string `json:"type"` // "screen-ended"
}
