package app

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pion/rtp"

	"parley/backend/client"
	"parley/media/audio"
)

// playingWindow: a participant counts as "playing" if we played sound of
// theirs this recently.
const playingWindow = 2 * time.Second

// audioOut is the meeting's sound: every remote participant's audio
// through a jitter buffer into the mixer, the mixer on the speaker, and
// (when publishing the microphone) the microphone through the echo
// canceller to the Sender.
type audioOut struct {
	a     *App
	mixer *audio.Mixer

	mu      sync.Mutex
	ctx     *audio.Context
	ctxErr  error
	stream  *audio.Stream
	sender  *audio.Sender
	stopTx  context.CancelFunc
	txDone  chan struct{}
	buffers map[string]*audio.JitterBuffer // by mixer key
}

func newAudioOut(a *App) *audioOut {
	return &audioOut{a: a, mixer: audio.NewMixer(), buffers: map[string]*audio.JitterBuffer{}}
}

func mixerKey(participantID, trackID string) string { return participantID + "/" + trackID }

// onRemoteAudio plays a remote participant's audio track.
func (a *App) onRemoteAudio(_ *meeting, rt *client.RemoteTrack) {
	jb, err := audio.NewJitterBuffer()
	if err != nil {
		a.opts.Log.Error("cannot play remote audio", "participant", rt.ParticipantID, "err", err)
		return
	}
	rt.SetSink(func(p *rtp.Packet) { jb.Push(p, time.Now()) })
	key := mixerKey(rt.ParticipantID, rt.TrackID)
	o := a.audio
	o.mu.Lock()
	old := o.buffers[key]
	o.buffers[key] = jb
	o.mu.Unlock()
	o.mixer.Add(key, jb)
	if old != nil {
		old.Close()
	}
}

func (o *audioOut) removeTrack(participantID, trackID string) {
	o.remove(func(key string) bool { return key == mixerKey(participantID, trackID) })
}

// removeParticipant stops a participant's audio ("" stops everyone's).
func (o *audioOut) removeParticipant(participantID string) {
	o.remove(func(key string) bool { return participantID == "" || strings.HasPrefix(key, participantID+"/") })
}

func (o *audioOut) remove(match func(string) bool) {
	o.mu.Lock()
	var gone []*audio.JitterBuffer
	for key, jb := range o.buffers {
		if match(key) {
			o.mixer.Remove(key)
			delete(o.buffers, key)
			gone = append(gone, jb)
		}
	}
	o.mu.Unlock()
	for _, jb := range gone {
		jb.Close()
	}
}

// soundServer connects once; without a sound server the meeting goes on
// silent (and says so).
func (o *audioOut) soundServer() (*audio.Context, error) {
	if o.ctx == nil && o.ctxErr == nil {
		o.ctx, o.ctxErr = audio.NewContext(o.a.opts.Log)
	}
	return o.ctx, o.ctxErr
}

// start opens the speaker (and the microphone, feeding sender, when sender
// is not nil).
func (o *audioOut) start(sender *audio.Sender) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.stopLocked()
	ctx, err := o.soundServer()
	if err != nil {
		return err
	}
	mic, speaker := o.a.deviceChoice()
	cfg := audio.StreamConfig{Speaker: speaker, Mic: mic, Capture: sender != nil, OnStop: o.onDeviceLost}
	var capture audio.CaptureFunc
	if sender != nil {
		capture = sender.Capture
	}
	s, err := ctx.Open(cfg, o.mixer, capture)
	if err != nil && errors.Is(err, audio.ErrNoDevice) && (mic != "" || speaker != "") {
		// The remembered device is gone: fall back to the defaults.
		o.a.opts.Log.Warn("audio device missing, using the default", "err", err)
		o.a.toast("Your chosen microphone or speaker is not connected; using the default.")
		cfg.Mic, cfg.Speaker = "", ""
		s, err = ctx.Open(cfg, o.mixer, capture)
	}
	if err != nil {
		return err
	}
	o.stream = s
	if sender != nil {
		txCtx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		o.sender, o.stopTx, o.txDone = sender, cancel, done
		go func() {
			defer close(done)
			if err := sender.Run(txCtx); err != nil {
				o.a.opts.Log.Warn("microphone stopped", "err", err)
			}
		}()
	}
	o.a.opts.Log.Info("audio started", "speaker", s.SpeakerName(), "microphone", s.MicName())
	return nil
}

// onDeviceLost runs when the sound server ends the stream (a device was
// unplugged): reopen with the defaults, or go silent.
func (o *audioOut) onDeviceLost(err error) {
	o.a.opts.Log.Warn("audio device lost", "err", err)
	o.mu.Lock()
	sender := o.sender
	o.mu.Unlock()
	if sender == nil {
		// Playback only: reopen on the default speaker.
		if err := o.start(nil); err != nil {
			o.a.toast("The speaker stopped working: " + err.Error())
		}
		return
	}
	// The Sender's codec is freed with its Run; the microphone path is
	// rebuilt by the publication.
	o.a.toast("The microphone or speaker was disconnected.")
	o.a.restartMic()
}

// stop closes the devices and the Sender.
func (o *audioOut) stop() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.stopLocked()
}

func (o *audioOut) stopLocked() {
	if o.stream != nil {
		o.stream.Close()
		o.stream = nil
	}
	if o.stopTx != nil {
		o.stopTx()
		<-o.txDone
		o.stopTx, o.txDone, o.sender = nil, nil, nil
	}
}

// micLevel is the cleaned microphone level, 0..1.
func (o *audioOut) micLevel() float64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.sender == nil {
		return 0
	}
	return o.sender.Level()
}

func (o *audioOut) report(name func(string) string) AudioReport {
	r := AudioReport{Playing: []string{}}
	seen := map[string]bool{}
	for _, key := range o.mixer.Playing(time.Now(), playingWindow) {
		pid, _, _ := strings.Cut(key, "/")
		if n := name(pid); !seen[n] {
			seen[n] = true
			r.Playing = append(r.Playing, n)
		}
	}
	sort.Strings(r.Playing)
	o.mu.Lock()
	if o.stream != nil {
		r.Mic = o.stream.MicName()
	}
	o.mu.Unlock()
	return r
}

func (o *audioOut) close() {
	o.stop()
	o.removeParticipant("")
	o.mu.Lock()
	if o.ctx != nil {
		o.ctx.Close()
	}
	o.mu.Unlock()
}
