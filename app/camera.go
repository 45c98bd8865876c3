package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"parley/backend/client"
	"parley/backend/rtcconf"
	"parley/backend/signal"
	"parley/media/capture"
	"parley/media/render"
)

const screenTrackID = "screen"

// cameraInfo is a camera as the picker lists it.
type cameraInfo struct {
	ID, Label string
}

// cameras lists video capture devices (none is a normal state).
func (a *App) cameras() []cameraInfo {
	var out []cameraInfo
	for _, c := range capture.Cameras() {
		out = append(out, cameraInfo{ID: c.ID, Label: c.Label})
	}
	return out
}

// videoSender runs one encoded source into a published track and our own
// tile, until stopped.
type videoSender struct {
	src   *capture.Source
	out   *webrtc.TrackLocalStaticSample
	local *client.LocalTrack
	self  *render.Track
	// bitrate is what the encoder should aim at now.
	bitrate func() int
	cancel  context.CancelFunc
	done    chan struct{}
}

// run reads frames until ctx ends or the device fails (onFail is then
// called).
func (v *videoSender) run(ctx context.Context, onFail func(error)) {
	defer close(v.done)
	frameDur := time.Second / time.Duration(max(v.src.FPS, 1))
	start := time.Now()
	for ctx.Err() == nil {
		f, err := v.src.Read()
		if err != nil {
			if ctx.Err() == nil {
				onFail(err)
			}
			return
		}
		if v.local.Muted() {
			continue
		}
		if bps := v.bitrate(); bps != v.src.Bitrate() {
			v.src.SetBitrate(bps)
		}
		ts := uint32(time.Since(start) * 90_000 / time.Second)
		// Our own tile skips the frames nothing depends on: half the
		// decoding in the webview, for a picture we only glance at.
		if v.self != nil && !f.Droppable {
			v.self.WriteFrame(f.Data, f.Keyframe, ts)
		}
		if err := v.out.WriteSample(media.Sample{Data: f.Data, Duration: frameDur}); err != nil {
			if ctx.Err() == nil {
				onFail(err)
			}
			return
		}
	}
}

func (v *videoSender) stop() {
	v.cancel()
	// Closing the device unblocks a Read waiting for the next frame.
	_ = v.src.Close()
	<-v.done
}

// startVideo publishes (or reuses) a track for src and starts sending.
func (a *App) startVideo(m *meeting, kind signal.Kind, trackID string, src *capture.Source, existing *videoSender) (*videoSender, error) {
	v := &videoSender{src: src, done: make(chan struct{})}
	if existing != nil {
		v.out, v.local, v.self = existing.out, existing.local, existing.self
		if err := m.cl.SetMuted(trackID, false); err != nil {
			return nil, err
		}
	} else {
		track, err := webrtc.NewTrackLocalStaticSample(rtcconf.VP8Codec().RTPCodecCapability, trackID, m.cl.ID())
		if err != nil {
			return nil, fmt.Errorf("%s track: %w", kind, err)
		}
		ctx, cancel := context.WithTimeout(m.ctx, 15*time.Second)
		defer cancel()
		muted := kind == signal.KindVideo && a.startMuted("video")
		lt, err := m.cl.Publish(ctx, kind, track, client.PublishOptions{OnKeyframeRequest: src.ForceKeyframe, Muted: muted})
		if err != nil {
			return nil, err
		}
		v.out, v.local = track, lt
		v.self = a.render.AddTrack(render.TrackInfo{Participant: m.cl.ID(), Track: trackID}, src.ForceKeyframe)
		a.tiles.add(v.self.ID, tileInfo{participantID: m.cl.ID(), trackID: trackID, kind: kind, self: true})
		a.emit(mediaEvent{Type: "media", ParticipantID: m.cl.ID(), TrackID: trackID, Kind: kind, RenderID: v.self.ID})
	}
	v.bitrate = func() int { return a.bitrateFor(m, v) }
	ctx, cancel := context.WithCancel(m.ctx)
	v.cancel = cancel
	go v.run(ctx, func(err error) { a.videoFailed(m, kind, err) })
	return v, nil
}

// videoFailed handles a camera unplugged or a screen gone mid-call.
func (a *App) videoFailed(m *meeting, kind signal.Kind, err error) {
	a.opts.Log.Warn("video source stopped", "kind", kind, "err", err)
	if kind == signal.KindScreen {
		a.toast("Screen sharing stopped: " + err.Error())
		go func() { _ = a.StopShare() }()
		return
	}
	a.toast("The camera stopped: " + err.Error())
	go func() {
		// Another camera, or camera off.
		if m.pub != nil {
			m.pub.mu.Lock()
			cam := m.pub.camera
			m.pub.mu.Unlock()
			if cam != nil {
				_ = m.cl.SetMuted(cam.local.ID(), true)
			}
		}
	}()
}

// publishCamera publishes the chosen camera, if there is one.
func (a *App) publishCamera(m *meeting, p *publication) error {
	a.mu.Lock()
	id := a.opts.Camera
	a.mu.Unlock()
	if id == "" && len(capture.Cameras()) == 0 {
		return nil // no camera: the tile shows an avatar
	}
	src, err := capture.OpenCamera(id, capture.CameraOptions())
	if err != nil {
		return err
	}
	v, err := a.startVideo(m, signal.KindVideo, cameraTrackID, src, nil)
	if err != nil {
		_ = src.Close()
		return err
	}
	p.mu.Lock()
	p.camera = v
	p.tracks["video"] = v.local
	p.keyframe = src.ForceKeyframe
	p.stops = append(p.stops, v.stop)
	p.mu.Unlock()
	return nil
}

// ScreenInfo is a screen for the share picker.
type ScreenInfo struct {
	ID    string `json:"id"`
	Label string `json:"label"`
}

// Screens lists the screens that can be shared; on a Wayland-only session
// the error says that sharing needs X11/XWayland.
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
	old := p.screen
	p.mu.Unlock()
	if old != nil && old.done != nil {
		select {
		case <-old.done:
		default:
			p.mu.Lock()
			p.shareBusy = false
			p.mu.Unlock()
			return errors.New("already sharing")
		}
	}
	src, err := capture.OpenScreen(id, capture.ScreenOptions())
	if err == nil {
		var v *videoSender
		if v, err = a.startVideo(m, signal.KindScreen, screenTrackID, src, old); err == nil {
			p.mu.Lock()
			p.screen = v
			p.mu.Unlock()
			a.opts.Log.Info("sharing the screen", "size", fmt.Sprintf("%dx%d", src.Width, src.Height))
			return nil
		}
		_ = src.Close()
	}
	p.mu.Lock()
	p.shareBusy = false
	p.mu.Unlock()
	return fmt.Errorf("share screen: %w", err)
}

// StopShare stops sharing. (The client cannot unpublish a track yet, so
// the screen track stays, muted, and is reused by the next share.)
func (a *App) StopShare() error {
	m, err := a.current()
	if err != nil {
		return err
	}
	p := m.pub
	p.mu.Lock()
	v := p.screen
	busy := p.shareBusy
	p.shareBusy = false
	p.mu.Unlock()
	if v == nil || !busy {
		return nil
	}
	v.stop()
	if err := m.cl.SetMuted(screenTrackID, true); err != nil {
		return err
	}
	a.emit(screenEndedEvent{Type: "screen-ended"})
	return nil
}

type screenEndedEvent struct {
	Type string `json:"type"` // "screen-ended"
}
