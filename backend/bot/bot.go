// Package bot makes a client a participant with synthetic media: the test
// pattern and tone of media/testsrc, published as camera and microphone.
// `parley join --source test`, the benchmark and the tests use it.
package bot

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"parley/backend/client"
	"parley/backend/rtcconf"
	"parley/backend/signal"
	"parley/media/testsrc"
	"parley/media/vp8"
)

// Media is encoded test media, made once and shared by any number of bots
// (encoding takes seconds; playing is cheap).
type Media struct {
	Video, Audio *testsrc.Loop
}

// EncodeMedia encodes the default test pattern and tone.
func EncodeMedia() (*Media, error) { return EncodeMediaWith(testsrc.DefaultVideo()) }

// EncodeMediaWith encodes the tone and a test pattern shaped by video.
func EncodeMediaWith(video testsrc.VideoOptions) (*Media, error) {
	v, err := testsrc.EncodeVideo(video)
	if err != nil {
		return nil, err
	}
	a, err := testsrc.EncodeAudio(testsrc.DefaultAudio())
	if err != nil {
		return nil, err
	}
	return &Media{Video: v, Audio: a}, nil
}

// Publisher plays media into a client's camera and microphone tracks.
type Publisher struct {
	Video, Audio *testsrc.Player
	cancel       context.CancelFunc
	wg           sync.WaitGroup
}

// Stop ends playback and waits for it.
func (p *Publisher) Stop() {
	p.cancel()
	p.wg.Wait()
}

// Publish publishes camera video ("camera") and microphone audio ("mic")
// from m on c and starts playing them.
func Publish(ctx context.Context, c *client.Client, m *Media) (*Publisher, error) {
	video, err := vp8.NewTrack(rtcconf.VP8Codec().RTPCodecCapability, "camera", c.ID())
	if err != nil {
		return nil, fmt.Errorf("video track: %w", err)
	}
	audio, err := webrtc.NewTrackLocalStaticSample(rtcconf.OpusCodec().RTPCodecCapability, "mic", c.ID())
	if err != nil {
		return nil, fmt.Errorf("audio track: %w", err)
	}
	playCtx, cancel := context.WithCancel(context.Background())
	p := &Publisher{
		Video:  testsrc.NewPlayer(m.Video, video),
		Audio:  testsrc.NewPlayer(m.Audio, testsrc.Samples{Track: audio}),
		cancel: cancel,
	}
	pubCtx, pubCancel := context.WithTimeout(ctx, 30*time.Second)
	defer pubCancel()
	if _, err := c.Publish(pubCtx, signal.KindVideo, video, client.PublishOptions{OnKeyframeRequest: p.Video.RequestKeyframe}); err != nil {
		cancel()
		return nil, err
	}
	if _, err := c.Publish(pubCtx, signal.KindAudio, audio, client.PublishOptions{}); err != nil {
		cancel()
		return nil, err
	}
	for _, pl := range []*testsrc.Player{p.Video, p.Audio} {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			_ = pl.Run(playCtx)
		}()
	}
	return p, nil
}
