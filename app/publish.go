package app

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"parley/backend/bot"
	"parley/backend/client"
	"parley/backend/rtcconf"
	"parley/backend/signal"
	"parley/media/render"
	"parley/media/testsrc"
	"parley/media/vp8"
)

// Track ids of what we publish, the same as `parley join` bots use.
const (
	cameraTrackID = "camera"
	micTrackID    = "mic"
)

// publication is what we send in a meeting.
type publication struct {
	cl     *client.Client
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	tracks map[string]*client.LocalTrack // by mute kind: "audio", "video"
	// keyframe asks the video source for a keyframe (after unmuting the
	// camera, viewers' decoders need one).
	keyframe func()
	self     *render.Track
	mic      *micTrack // the microphone, with SourceDevices
	camera   *videoSender
	// screen is the screen share (its track stays after StopShare, muted:
	// the client cannot unpublish); shareBusy while it captures.
	screen    *videoSender
	shareBusy bool
	stops     []func()
}

func (p *publication) stop() {
	if p == nil {
		return
	}
	if p.cancel != nil {
		p.cancel()
	}
	p.wg.Wait()
	p.mu.Lock()
	stops := append(p.stops, p.camera.stop, p.screen.stop)
	// Our own tiles end with the meeting; open, their render tracks would
	// keep their frames since the last keyframe for the rest of the run.
	for _, v := range []*videoSender{p.camera, p.screen} {
		if v != nil {
			stops = append(stops, v.self.Close)
		}
	}
	p.stops = nil
	p.shareBusy = false
	p.mu.Unlock()
	for _, f := range stops {
		f()
	}
}

func (p *publication) setMuted(kind string, muted bool) error {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	lt := p.tracks[kind]
	kf := p.keyframe
	p.mu.Unlock()
	if lt == nil {
		return nil
	}
	if err := p.cl.SetMuted(lt.ID(), muted); err != nil {
		return fmt.Errorf("mute %s: %w", kind, err)
	}
	// The sender also holds back delta frames until a keyframe after a
	// mute; asking now saves it a frame's wait.
	if kind == "video" && !muted && kf != nil {
		kf()
	}
	return nil
}

// publish starts sending the configured source.
func (a *App) publish(m *meeting) error {
	p := &publication{cl: m.cl, tracks: map[string]*client.LocalTrack{}}
	m.pub = p
	switch a.opts.Source {
	case SourceNone:
		a.startSpeaker()
		// Nothing is published: the buttons show off, not on and silent.
		a.localMute(m, "audio")
		a.localMute(m, "video")
		return nil
	case SourceTest:
		a.startSpeaker()
		return a.publishTest(m, p)
	case SourceDevices:
		return a.publishDevices(m, p)
	default:
		return fmt.Errorf("unknown media source %q", a.opts.Source)
	}
}

// startSpeaker plays the meeting without capturing the microphone.
func (a *App) startSpeaker() {
	if err := a.audio.start(nil); err != nil {
		a.opts.Log.Warn("no sound: the meeting plays silently", "err", err)
	}
}

func (a *App) testMedia() (*bot.Media, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.media == nil {
		md, err := bot.EncodeMedia()
		if err != nil {
			return nil, fmt.Errorf("test media: %w", err)
		}
		a.media = md
	}
	return a.media, nil
}

func (a *App) startMuted(kind string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.muted[kind]
}

// publishTest sends the test pattern and tone (as `parley join --source
// test` does) and shows the pattern as our own tile.
func (a *App) publishTest(m *meeting, p *publication) error {
	md, err := a.testMedia()
	if err != nil {
		return err
	}
	video, err := vp8.NewTrack(rtcconf.VP8Codec().RTPCodecCapability, cameraTrackID, m.cl.ID())
	if err != nil {
		return fmt.Errorf("video track: %w", err)
	}
	audio, err := webrtc.NewTrackLocalStaticSample(rtcconf.OpusCodec().RTPCodecCapability, micTrackID, m.cl.ID())
	if err != nil {
		return fmt.Errorf("audio track: %w", err)
	}
	self := a.render.AddTrack(render.TrackInfo{Participant: m.cl.ID(), Track: cameraTrackID}, nil)
	vw := &localVideo{out: video, self: self}
	aw := &localAudio{out: audio}
	vp := testsrc.NewPlayer(md.Video, vw)
	vw.rewind = vp.RequestKeyframe
	ap := testsrc.NewPlayer(md.Audio, aw)
	p.mu.Lock()
	p.self = self
	p.keyframe = vp.RequestKeyframe
	p.stops = append(p.stops, func() { a.removeSelf(m, self, cameraTrackID, signal.KindVideo) })
	p.mu.Unlock()

	ctx, cancel := context.WithTimeout(m.ctx, 15*time.Second)
	defer cancel()
	vt, err := m.cl.Publish(ctx, signal.KindVideo, video, client.PublishOptions{
		OnKeyframeRequest: vp.RequestKeyframe, Muted: a.startMuted("video"),
	})
	if err != nil {
		a.removeSelf(m, self, cameraTrackID, signal.KindVideo)
		return err
	}
	vw.local.Store(vt)
	at, err := m.cl.Publish(ctx, signal.KindAudio, audio, client.PublishOptions{Muted: a.startMuted("audio")})
	if err != nil {
		a.removeSelf(m, self, cameraTrackID, signal.KindVideo)
		return err
	}
	aw.local.Store(at)
	p.mu.Lock()
	p.tracks["video"], p.tracks["audio"] = vt, at
	p.mu.Unlock()

	a.tiles.add(self.ID, tileInfo{m: m, participantID: m.cl.ID(), trackID: cameraTrackID, kind: signal.KindVideo, self: true})
	a.emit(mediaEvent{Type: "media", ParticipantID: m.cl.ID(), TrackID: cameraTrackID, Kind: signal.KindVideo, RenderID: self.ID})

	playCtx, playCancel := context.WithCancel(context.Background())
	p.cancel = playCancel
	for _, pl := range []*testsrc.Player{vp, ap} {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			if err := pl.Run(playCtx); err != nil {
				a.opts.Log.Debug("test source stopped", "err", err)
			}
		}()
	}
	return nil
}

// removeSelf stops drawing one of our own tracks in our window.
func (a *App) removeSelf(m *meeting, self *render.Track, trackID string, kind signal.Kind) {
	self.Close()
	a.tiles.remove(self.ID)
	a.emit(mediaEvent{Type: "media", ParticipantID: m.cl.ID(), TrackID: trackID, Kind: kind})
}

// localVideo sends encoded frames to the room and to our own tile; a
// muted camera sends nothing to either.
type localVideo struct {
	out   *vp8.Track
	local atomic.Pointer[client.LocalTrack]
	self  *render.Track
	ts    uint32 // 90 kHz, for the self view
	// rewind asks the player for its keyframe.
	rewind func()
	gate   muteGate
}

// muteGate leaves out a muted track's frames and, after the mute, delta
// frames until a keyframe: they would be decoded against pictures that
// nobody got.
type muteGate struct{ needKey bool }

// pass reports whether a frame goes out; askKeyframe is called for each
// delta frame held back after a mute.
func (g *muteGate) pass(muted, keyframe bool, askKeyframe func()) bool {
	if muted {
		g.needKey = true
		return false
	}
	if g.needKey && !keyframe {
		askKeyframe()
		return false
	}
	g.needKey = false
	return true
}

func (w *localVideo) WriteFrame(data []byte, dur time.Duration, nonReference bool) error {
	ts := w.ts
	w.ts += uint32(dur * 90_000 / time.Second)
	lt := w.local.Load()
	key, _, _ := vp8.ParseKeyframe(data)
	if !w.gate.pass(lt == nil || lt.Muted(), key, w.rewind) {
		return nil
	}
	if w.self != nil {
		w.self.WriteFrame(vp8.Frame{Data: data, Keyframe: key, NonReference: nonReference, Timestamp: ts})
	}
	return w.out.WriteFrame(data, dur, nonReference)
}

// localAudio sends encoded audio unless the microphone is muted.
type localAudio struct {
	out   *webrtc.TrackLocalStaticSample
	local atomic.Pointer[client.LocalTrack]
}

func (w *localAudio) WriteFrame(data []byte, dur time.Duration, _ bool) error {
	lt := w.local.Load()
	if lt == nil || lt.Muted() {
		return nil
	}
	return w.out.WriteSample(media.Sample{Data: data, Duration: dur})
}
