package sfu

import "sync"

// maxPacketSize is the largest RTP packet the SFU stores or forwards. It is
// above pion's receive MTU (1460), so nothing pion delivers is cut.
const maxPacketSize = 1504

// packetCache keeps the last packets of one published track so that NACKs
// from subscribers are answered without asking the publisher. It is a fixed
// ring indexed by sequence number modulo its (power of two) size: storing and
// looking up are O(1), and all memory is allocated up front.
//
// Packets are stored as received (header included); the reader rewrites the
// header for its subscriber.
type packetCache struct {
	mu      sync.Mutex
	mask    uint16
	slots   []cacheSlot
	highest uint16
	started bool
}

type cacheSlot struct {
	seq  uint16
	size uint16 // 0: empty
	buf  [maxPacketSize]byte
}

// newPacketCache returns a cache of at least size packets (rounded up to a
// power of two, between 16 and 32768).
func newPacketCache(size int) *packetCache {
	n := 16
	for n < size && n < 1<<15 {
		n <<= 1
	}

	return &packetCache{mask: uint16(n - 1), slots: make([]cacheSlot, n)}
}

// capacity is the number of packets the cache holds.
func (c *packetCache) capacity() int { return len(c.slots) }

// store copies pkt (a whole RTP packet with sequence number seq) into the
// cache. Packets larger than maxPacketSize and packets older than the cache
// reaches back are not stored.
func (c *packetCache) store(seq uint16, pkt []byte) bool {
	if len(pkt) == 0 || len(pkt) > maxPacketSize {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.started {
		c.started, c.highest = true, seq
	} else if d := int16(seq - c.highest); d > 0 {
		c.highest = seq
	} else if -int(d) > int(c.mask) {
		return false // would overwrite a newer packet
	}
	s := &c.slots[seq&c.mask]
	s.seq = seq
	s.size = uint16(copy(s.buf[:], pkt))

	return true
}

// get copies the packet with sequence number seq into dst and returns its
// length, or 0 when the packet is not in the cache.
func (c *packetCache) get(seq uint16, dst []byte) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := &c.slots[seq&c.mask]
	if s.size == 0 || s.seq != seq || int(s.size) > len(dst) {
		return 0
	}

	return copy(dst, s.buf[:s.size])
}
