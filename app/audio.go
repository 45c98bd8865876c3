package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
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

	mu     sync.Mutex
	ctx    *audio.Context
	ctxErr error
	stream *audio.Stream
	sender *audio.Sender
	stopTx context.CancelFunc
	txDone chan struct{}
	// stopWatch ends the watch on the stream's devices.
	stopWatch func()
	buffers   map[string]*audio.JitterBuffer // by mixer key
	// handled marks streams whose lost device is being dealt with.
	handled map[*audio.Stream]bool
}

func newAudioOut(a *App) *audioOut {
	return &audioOut{a: a, mixer: audio.NewMixer(), buffers: map[string]*audio.JitterBuffer{}, handled: map[*audio.Stream]bool{}}
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
	fellBack, err := o.open(sender)
	if fellBack {
		o.a.toast("Your chosen microphone or speaker is not connected; using the default.")
	}
	return err
}

// open is start without the toast; fellBack says a chosen device was
// missing and the default was opened instead.
func (o *audioOut) open(sender *audio.Sender) (fellBack bool, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.stopLocked()
	ctx, err := o.soundServer()
	if err != nil {
		return false, err
	}
	mic, speaker := o.a.deviceChoice()
	var opened *audio.Stream
	var openedMu sync.Mutex
	onStop := func(err error) {
		openedMu.Lock()
		s := opened
		openedMu.Unlock()
		o.lost(s, err)
	}
	cfg := audio.StreamConfig{Speaker: speaker, Mic: mic, Capture: sender != nil, OnStop: onStop}
	var capture audio.CaptureFunc
	if sender != nil {
		capture = sender.Capture
	}
	s, err := ctx.Open(cfg, o.mixer, capture)
	if err != nil && errors.Is(err, audio.ErrNoDevice) && (mic != "" || speaker != "") {
		// The remembered device is gone: fall back to the defaults.
		o.a.opts.Log.Warn("audio device missing, using the default", "err", err)
		fellBack = true
		cfg.Mic, cfg.Speaker = "", ""
		s, err = ctx.Open(cfg, o.mixer, capture)
	}
	if err != nil {
		return fellBack, err
	}
	openedMu.Lock()
	opened = s
	openedMu.Unlock()
	o.stream = s
	o.stopWatch = o.watch(ctx, s)
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
	return fellBack, nil
}

// The sound server tells the device watch of every device plugged or
// unplugged; the devices are also listed every devicePoll in case an
// event went missing, and every devicePollAlone when the watch could not
// be set up (or its connection was lost).
const (
	devicePoll      = 10 * time.Second
	devicePollAlone = time.Second
)

// watch checks that s's microphone and speaker are still connected: the
// sound server moves the streams of an unplugged device to the default
// one by itself (which may be a speaker's monitor), so the stream alone
// does not tell. The returned function stops watching.
func (o *audioOut) watch(ctx *audio.Context, s *audio.Stream) func() {
	wctx, cancel := context.WithCancel(context.Background())
	changed := make(chan struct{}, 1)
	poll := devicePoll
	stopEvents, err := ctx.WatchDevices(func() {
		select {
		case changed <- struct{}{}:
		default: // a check is already due
		}
	})
	if err != nil {
		o.a.opts.Log.Warn("device changes are not reported; listing devices every second", "err", err)
		stopEvents, poll = func() {}, devicePollAlone
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(poll)
		defer tick.Stop()
		for {
			select {
			case <-wctx.Done():
				return
			case <-tick.C:
			case <-changed:
			}
			mics, speakers, err := ctx.Devices()
			if err != nil {
				tick.Reset(devicePollAlone)
				continue // the server is restarting; the stream tells if it is gone
			}
			var lost error
			if id := s.MicID(); s.MicName() != "" && id != "" && !hasDevice(mics, id) {
				lost = fmt.Errorf("%w: %s was disconnected", audio.ErrMicLost, s.MicName())
			} else if id := s.SpeakerID(); id != "" && !hasDevice(speakers, id) {
				lost = fmt.Errorf("%w: %s was disconnected", audio.ErrSpeakerLost, s.SpeakerName())
			}
			if lost != nil && wctx.Err() == nil {
				// lost restarts the stream, which stops this watch: not
				// from here.
				go o.lost(s, lost)
				return
			}
		}
	}()
	return func() {
		cancel()
		<-done
		stopEvents()
	}
}

func hasDevice(list []audio.Device, id string) bool {
	return slices.ContainsFunc(list, func(d audio.Device) bool { return d.ID == id })
}

// lost handles a device of stream s going away (once per stream: the
// stream's end and the watch may both notice).
func (o *audioOut) lost(s *audio.Stream, err error) {
	o.mu.Lock()
	current := s != nil && o.stream == s && !o.handled[s]
	if current {
		o.handled[s] = true
	}
	o.mu.Unlock()
	if current {
		o.onDeviceLost(err)
	}
}

// onDeviceLost runs when a device of the stream went away (unplugged):
// the microphone or speaker falls back to another one, or the microphone
// turns off. Never fatal.
func (o *audioOut) onDeviceLost(err error) {
	o.a.opts.Log.Warn("audio device lost", "err", err)
	o.mu.Lock()
	capturing := o.sender != nil
	o.mu.Unlock()
	if errors.Is(err, audio.ErrMicLost) && capturing {
		o.a.micLost()
		return
	}
	// The speaker: reopen on the default one (with the microphone path,
	// rebuilt, when we capture).
	o.a.mu.Lock()
	o.a.opts.Speaker = ""
	o.a.mu.Unlock()
	if capturing {
		o.a.restartMic()
	} else if err := o.start(nil); err != nil {
		o.a.toast("Speaker disconnected — the meeting plays silently")
		return
	}
	o.mu.Lock()
	name := ""
	if o.stream != nil {
		name = o.stream.SpeakerName()
	}
	o.mu.Unlock()
	o.a.toast("Speaker disconnected — switched to " + name)
}

// connected reports whether microphone id (or name) is there ("": the
// default, which is there if any is).
func (o *audioOut) connected(mic string) bool {
	if mic == "" {
		_, ok := o.fallbackMic()
		return ok
	}
	o.mu.Lock()
	ctx, err := o.soundServer()
	o.mu.Unlock()
	if err != nil {
		return false
	}
	mics, _, err := ctx.Devices()
	return err == nil && slices.ContainsFunc(mics, func(d audio.Device) bool { return d.ID == mic || d.Name == mic })
}

// fallbackMic is the microphone to use when ours went away: the default
// one, else the first, never a speaker's monitor (that would send the
// meeting back to itself).
func (o *audioOut) fallbackMic() (audio.Device, bool) {
	o.mu.Lock()
	ctx, err := o.soundServer()
	o.mu.Unlock()
	if err != nil {
		return audio.Device{}, false
	}
	mics, _, err := ctx.Devices()
	if err != nil {
		return audio.Device{}, false
	}
	return audio.DefaultMic(mics)
}

// micLost moves the published microphone to another one, or turns the
// microphone off.
func (a *App) micLost() {
	m, mt := a.publishedMic()
	if mt == nil {
		return
	}
	if next, ok := a.audio.fallbackMic(); ok {
		a.mu.Lock()
		a.opts.Mic = next.ID // for this meeting; the saved choice stays
		a.mu.Unlock()
		if err := a.startMic(mt); err == nil {
			a.toast("Microphone disconnected — switched to " + next.Name)
			return
		}
	}
	if err := a.audio.start(nil); err != nil {
		a.opts.Log.Warn("speaker unavailable", "err", err)
	}
	a.localMute(m, "audio")
	a.toast("Microphone disconnected — microphone turned off")
}

// stop closes the devices and the Sender.
func (o *audioOut) stop() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.stopLocked()
}

func (o *audioOut) stopLocked() {
	if o.stopWatch != nil {
		o.stopWatch()
		o.stopWatch = nil
	}
	if o.stream != nil {
		delete(o.handled, o.stream)
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
