package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"parley/backend/signal"
)

// LocalTrack is a track we publish.
type LocalTrack struct {
	id     string
	kind   signal.Kind
	sender *webrtc.RTPSender
	muted  atomic.Bool
	// onKeyframe is called when a viewer (through the SFU) asks for a
	// keyframe.
	onKeyframe func()
	// remb is the SFU's latest bitrate cap for the track (bits per
	// second), received at rembAt (unix nanos).
	remb, rembAt atomic.Int64
}

// rembMaxAge is how long an SFU's bitrate cap stays in force without a
// new one (the SFU sends one every second).
const rembMaxAge = 5 * time.Second

// TargetBitrate is the bitrate the SFU asks this track to keep to (its
// REMB: the lowest of what the track's viewers' downlinks carry, within
// the room's cap); ok is false before the first one or when it is older
// than a few seconds.
func (t *LocalTrack) TargetBitrate() (bps int, ok bool) {
	at := t.rembAt.Load()
	if at == 0 || time.Since(time.Unix(0, at)) > rembMaxAge {
		return 0, false
	}
	return int(t.remb.Load()), true
}

// ID is the track's id in the room.
func (t *LocalTrack) ID() string { return t.id }

// Muted reports whether the track is muted; sources skip sending then.
func (t *LocalTrack) Muted() bool { return t.muted.Load() }

// PublishOptions tune a publication.
type PublishOptions struct {
	// OnKeyframeRequest is called (from a reader goroutine) when the SFU
	// asks for a keyframe: a video source should send one soon.
	OnKeyframeRequest func()
	Muted             bool
}

// Publish announces track to the room and sends it on the publish
// PeerConnection, renegotiating it. track.ID() becomes the track's id in
// the room.
func (c *Client) Publish(ctx context.Context, kind signal.Kind, track webrtc.TrackLocal, opts PublishOptions) (*LocalTrack, error) {
	lt := &LocalTrack{id: track.ID(), kind: kind, onKeyframe: opts.OnKeyframeRequest}
	lt.muted.Store(opts.Muted)
	_, err := c.request(ctx, func(id int64) signal.Message {
		return &signal.Publish{ID: id, Track: signal.Track{ID: lt.id, Kind: kind, Muted: opts.Muted}}
	})
	if err != nil {
		return nil, fmt.Errorf("publish %s %s: %w", kind, lt.id, err)
	}
	c.pubMu.Lock()
	defer c.pubMu.Unlock()
	sender, err := c.pub.AddTrack(track)
	if err != nil {
		return nil, fmt.Errorf("publish %s: add track: %w", lt.id, err)
	}
	lt.sender = sender
	c.mu.Lock()
	c.local = append(c.local, lt)
	c.mu.Unlock()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.readSenderRTCP(lt)
	}()
	if err := c.negotiatePublish(ctx); err != nil {
		return nil, fmt.Errorf("publish %s: %w", lt.id, err)
	}
	return lt, nil
}

// Unpublish stops sending one of our tracks and tells the room; viewers
// get track-unpublished. The track's id may be published again.
func (c *Client) Unpublish(ctx context.Context, trackID string) error {
	c.mu.Lock()
	i := slices.IndexFunc(c.local, func(lt *LocalTrack) bool { return lt.id == trackID })
	var lt *LocalTrack
	if i >= 0 {
		lt = c.local[i]
		c.local = slices.Delete(c.local, i, i+1)
	}
	c.mu.Unlock()
	if lt == nil {
		return fmt.Errorf("unpublish %s: not published", trackID)
	}
	lt.muted.Store(true)
	if _, err := c.request(ctx, func(id int64) signal.Message { return &signal.Unpublish{ID: id, TrackID: trackID} }); err != nil {
		return fmt.Errorf("unpublish %s: %w", trackID, err)
	}
	c.pubMu.Lock()
	defer c.pubMu.Unlock()
	if err := c.pub.RemoveTrack(lt.sender); err != nil {
		return fmt.Errorf("unpublish %s: remove track: %w", trackID, err)
	}
	if err := c.negotiatePublish(ctx); err != nil {
		return fmt.Errorf("unpublish %s: %w", trackID, err)
	}
	return nil
}

// negotiatePublish offers the publish PeerConnection's current tracks and
// waits for the answer. Call with pubMu held.
func (c *Client) negotiatePublish(ctx context.Context) error {
	return c.negotiatePublishWith(ctx, nil)
}

// negotiatePublishWith is negotiatePublish with offer options (an ICE
// restart). Call with pubMu held.
func (c *Client) negotiatePublishWith(ctx context.Context, opts *webrtc.OfferOptions) error {
	offer, err := c.pubGuard.Offer(c.pub, opts)
	if err != nil {
		return fmt.Errorf("offer: %w", err)
	}
	done := make(chan error, 1)
	c.mu.Lock()
	c.pubAnswer = done
	c.mu.Unlock()
	if err := c.send(&signal.Offer{ID: c.nextID.Add(1), PC: signal.PCPublish, SDP: offer}); err != nil {
		return err
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("waiting for the answer: %w", ctx.Err())
	case <-c.ctx.Done():
		return context.Cause(c.ctx)
	}
}

// readSenderRTCP drains the sender's RTCP (pion's interceptors need it
// read) and passes keyframe requests to the source.
func (c *Client) readSenderRTCP(lt *LocalTrack) {
	for {
		pkts, _, err := lt.sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p := p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				if lt.onKeyframe != nil {
					lt.onKeyframe()
				}
			case *rtcp.ReceiverEstimatedMaximumBitrate:
				if p.Bitrate > 0 {
					lt.remb.Store(int64(p.Bitrate))
					lt.rembAt.Store(time.Now().UnixNano())
				}
			}
		}
	}
}

// RemoteTrack is another participant's track as we receive it.
type RemoteTrack struct {
	ParticipantID string
	TrackID       string
	Kind          signal.Kind
	Track         *webrtc.TrackRemote

	sink   atomic.Pointer[func(*rtp.Packet)]
	pc     *webrtc.PeerConnection // the subscribe connection, for PLIs
	client *Client

	packets, bytes, frames, lost atomic.Uint64
	firstPacket                  atomic.Int64 // unix nanos
	mu                           sync.Mutex
	lastSeq                      uint16
	haveSeq                      bool
}

// RequestKeyframe asks the sender (through the SFU) for a keyframe with a
// PLI: a decoder lost a frame and cannot go on until the next one.
func (t *RemoteTrack) RequestKeyframe() error {
	err := t.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(t.Track.SSRC())}})
	if err != nil {
		return fmt.Errorf("keyframe request for %s/%s: %w", t.ParticipantID, t.TrackID, err)
	}
	return nil
}

// SetForwarding sets how much of this track the server sends us (see
// Client.SetForwarding).
func (t *RemoteTrack) SetForwarding(f Forwarding) error {
	return t.client.SetForwarding(t.ParticipantID, t.TrackID, f)
}

// SetSink makes every received packet go to f (on the track's reader
// goroutine; f must not keep the packet).
func (t *RemoteTrack) SetSink(f func(*rtp.Packet)) { t.sink.Store(&f) }

// TrackStats are a track's counters.
type TrackStats struct {
	ParticipantID string      `json:"participantId"`
	TrackID       string      `json:"trackId"`
	Kind          signal.Kind `json:"kind"`
	Packets       uint64      `json:"packets"`
	Bytes         uint64      `json:"bytes"`
	// Frames counts complete video frames (RTP marker bits), or audio
	// packets (one Opus frame each).
	Frames uint64 `json:"frames"`
	Lost   uint64 `json:"lost"`
	// FirstPacket is when the first packet arrived (zero: none yet).
	FirstPacket time.Time `json:"-"`
}

// Stats returns the track's counters.
func (t *RemoteTrack) Stats() TrackStats {
	st := TrackStats{
		ParticipantID: t.ParticipantID, TrackID: t.TrackID, Kind: t.Kind,
		Packets: t.packets.Load(), Bytes: t.bytes.Load(), Frames: t.frames.Load(), Lost: t.lost.Load(),
	}
	if ns := t.firstPacket.Load(); ns != 0 {
		st.FirstPacket = time.Unix(0, ns)
	}
	return st
}

func (t *RemoteTrack) count(p *rtp.Packet, size int, now time.Time) {
	if t.packets.Add(1) == 1 {
		t.firstPacket.Store(now.UnixNano())
	}
	t.bytes.Add(uint64(size))
	if t.Kind == signal.KindAudio || p.Marker {
		t.frames.Add(1)
	}
	t.mu.Lock()
	if t.haveSeq {
		if gap := p.SequenceNumber - t.lastSeq; gap > 1 && gap < 0x8000 {
			t.lost.Add(uint64(gap - 1))
		}
		if int16(p.SequenceNumber-t.lastSeq) > 0 {
			t.lastSeq = p.SequenceNumber
		}
	} else {
		t.lastSeq, t.haveSeq = p.SequenceNumber, true
	}
	t.mu.Unlock()
}

// forgetRemoteLocked drops the remote tracks the room no longer has, so
// that live stats and bandwidth estimates stop naming them; their final
// figures stay for ReceivedStats. A track published again arrives anew
// (onTrack, after its track-published).
func (c *Client) forgetRemoteLocked() {
	for k, rt := range c.remote {
		if _, ok := c.tracks[k]; !ok {
			c.gone = append(c.gone, rt.Stats())
			delete(c.remote, k)
		}
	}
}

// onTrack starts reading a remote track the SFU sends us. The SFU labels
// it with msid "<participantId> <trackId>".
func (c *Client) onTrack(track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	rt := &RemoteTrack{ParticipantID: track.StreamID(), TrackID: track.ID(), Track: track, Kind: signal.KindVideo, pc: c.sub, client: c}
	if track.Kind() == webrtc.RTPCodecTypeAudio {
		rt.Kind = signal.KindAudio
	}
	c.mu.Lock()
	if t, ok := c.tracks[trackKey{rt.ParticipantID, rt.TrackID}]; ok {
		rt.Kind = t.Kind
	}
	c.remote[trackKey{rt.ParticipantID, rt.TrackID}] = rt
	c.mu.Unlock()
	if c.opts.OnTrack != nil {
		c.opts.OnTrack(rt)
	}
	c.events.push(Event{Track: rt})
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.readRemote(rt)
	}()
}

func (c *Client) readRemote(rt *RemoteTrack) {
	buf := make([]byte, 1500)
	var p rtp.Packet
	for {
		n, _, err := rt.Track.Read(buf)
		if err != nil {
			if !errors.Is(err, io.EOF) && c.ctx.Err() == nil {
				c.log.Debug("remote track ended", "participant", rt.ParticipantID, "track", rt.TrackID, "err", err)
			}
			return
		}
		if err := p.Unmarshal(buf[:n]); err != nil {
			continue
		}
		rt.count(&p, n, time.Now())
		if f := rt.sink.Load(); f != nil {
			(*f)(&p)
		}
	}
}

// Stats returns the counters of the remote tracks the room still has.
func (c *Client) Stats() []TrackStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.liveStatsLocked(0)
}

// ReceivedStats is Stats with the final figures of the remote tracks that
// ended (unpublished, or their participant left): everything received in
// this session. One lock for both, so that a track ending meanwhile is
// counted once, not missed.
func (c *Client) ReceivedStats() []TrackStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append(c.liveStatsLocked(len(c.gone)), c.gone...)
}

// liveStatsLocked lists the live tracks' counters, with room for extra
// more entries.
func (c *Client) liveStatsLocked(extra int) []TrackStats {
	out := make([]TrackStats, 0, len(c.remote)+extra)
	for _, rt := range c.remote {
		out = append(out, rt.Stats())
	}
	return out
}

// RemoteTracks returns the remote tracks the room still has.
func (c *Client) RemoteTracks() []*RemoteTrack {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*RemoteTrack, 0, len(c.remote))
	for _, rt := range c.remote {
		out = append(out, rt)
	}
	return out
}
