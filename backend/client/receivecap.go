package client

import (
	"time"

	"github.com/pion/rtcp"

	"parley/backend/signal"
)

// receiveCapInterval is how often the receive cap is repeated: the SFU
// forgets a REMB after 5 s.
const receiveCapInterval = time.Second

// SetMaxReceiveBitrate changes Options.MaxReceiveBitrate (0: no cap);
// the SFU hears it within a second.
func (c *Client) SetMaxReceiveBitrate(bps int) { c.maxReceive.Store(int64(max(bps, 0))) }

// capReceiveLoop tells the SFU, with REMB on the subscribe connection,
// how much video we take at most (Options.MaxReceiveBitrate, shared by
// all the video tracks we receive); the SFU then asks their publishers
// for less.
func (c *Client) capReceiveLoop() {
	t := time.NewTicker(receiveCapInterval)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
		limit := c.maxReceive.Load()
		if limit == 0 {
			continue
		}
		var ssrcs []uint32
		c.mu.Lock()
		for _, rt := range c.remote {
			if rt.Kind != signal.KindAudio {
				ssrcs = append(ssrcs, uint32(rt.Track.SSRC()))
			}
		}
		c.mu.Unlock()
		if len(ssrcs) == 0 {
			continue
		}
		err := c.sub.WriteRTCP([]rtcp.Packet{&rtcp.ReceiverEstimatedMaximumBitrate{
			Bitrate: float32(limit), SSRCs: ssrcs,
		}})
		if err != nil && c.ctx.Err() == nil {
			c.log.Debug("receive cap not sent", "err", err)
		}
	}
}
