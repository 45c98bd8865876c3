package bench

import (
	"sync/atomic"
	"time"
)

// histogram counts durations in 10 µs buckets up to 200 ms, lock-free, so
// that many subscriber goroutines can record every packet.
type histogram struct {
	buckets [20_000]atomic.Uint64
	over    atomic.Uint64
}

const bucketWidth = 10 * time.Microsecond

func (h *histogram) record(d time.Duration) {
	i := int(d / bucketWidth)
	if i >= len(h.buckets) {
		h.over.Add(1)
		return
	}
	h.buckets[i].Add(1)
}

func (h *histogram) count() uint64 {
	n := h.over.Load()
	for i := range h.buckets {
		n += h.buckets[i].Load()
	}
	return n
}

// quantile returns the q-quantile (0..1) as the upper edge of its bucket.
func (h *histogram) quantile(q float64) time.Duration {
	total := h.count()
	if total == 0 {
		return 0
	}
	target := uint64(q * float64(total))
	var seen uint64
	for i := range h.buckets {
		seen += h.buckets[i].Load()
		if seen > target {
			return time.Duration(i+1) * bucketWidth
		}
	}
	return time.Duration(len(h.buckets)) * bucketWidth
}

// reset zeroes the histogram (between warm-up and measurement).
func (h *histogram) reset() {
	for i := range h.buckets {
		h.buckets[i].Store(0)
	}
	h.over.Store(0)
}
