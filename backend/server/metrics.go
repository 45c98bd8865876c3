package server

import (
	"net/http"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics lives in the server's own registry: two servers in one process
// (tests, a host and a bench) never share counters.
type metrics struct {
	reg          *prometheus.Registry
	sessions     prometheus.Counter
	joins        prometheus.Counter
	roomsCreated prometheus.Counter
	leaves       *prometheus.CounterVec
	errors       *prometheus.CounterVec

	// Forwarding counters of rooms that closed; live rooms are summed at
	// scrape time.
	retired struct{ packets, bytes, nacks, plis atomic.Uint64 }
}

func newMetrics(s *Server) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.sessions = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "parley_signaling_connections_total", Help: "WebSocket connections accepted."})
	m.joins = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "parley_joins_total", Help: "Participants that joined a room."})
	m.roomsCreated = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "parley_rooms_created_total", Help: "Rooms opened."})
	m.leaves = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parley_leaves_total", Help: "Participants that left, by reason."}, []string{"reason"})
	m.errors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parley_signal_errors_total", Help: "Protocol errors sent to clients, by code."}, []string{"code"})

	gauge := func(name, help string, f func(*forwardTotals) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help},
			func() float64 { t := s.totals(); return f(&t) })
	}
	counter := func(name, help string, f func(*forwardTotals) float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { t := s.totals(); return f(&t) })
	}
	m.reg.MustRegister(
		prometheus.NewGoCollector(),
		prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}),
		m.sessions, m.joins, m.roomsCreated, m.leaves, m.errors,
		gauge("parley_rooms", "Rooms alive.", func(t *forwardTotals) float64 { return float64(t.rooms) }),
		gauge("parley_participants", "Participants in all rooms.", func(t *forwardTotals) float64 { return float64(t.participants) }),
		gauge("parley_tracks", "Published tracks being forwarded.", func(t *forwardTotals) float64 { return float64(t.tracks) }),
		counter("parley_packets_forwarded_total", "RTP packets sent to subscribers.", func(t *forwardTotals) float64 { return float64(t.packets) }),
		counter("parley_bytes_forwarded_total", "RTP bytes sent to subscribers.", func(t *forwardTotals) float64 { return float64(t.bytes) }),
		counter("parley_nacks_total", "Retransmissions subscribers asked for.", func(t *forwardTotals) float64 { return float64(t.nacks) }),
		counter("parley_plis_total", "Keyframe requests sent to publishers.", func(t *forwardTotals) float64 { return float64(t.plis) }),
	)
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

func (s *Server) totals() forwardTotals {
	r := &s.metrics.retired
	t := forwardTotals{packets: r.packets.Load(), bytes: r.bytes.Load(), nacks: r.nacks.Load(), plis: r.plis.Load()}
	s.mu.Lock()
	rooms := make([]*liveRoom, 0, len(s.live))
	for _, lr := range s.live {
		rooms = append(rooms, lr)
	}
	s.mu.Unlock()
	t.rooms = len(rooms)
	for _, lr := range rooms {
		t.participants += lr.state.Len()
		live := lr.media.Totals()
		t.tracks += live.tracks
		t.add(live)
	}
	return t
}

// retire closes a room's media plane and keeps its counters.
func (m *metrics) retire(f forwarder) {
	f.Close()
	t := f.Totals()
	m.retired.packets.Add(t.packets)
	m.retired.bytes.Add(t.bytes)
	m.retired.nacks.Add(t.nacks)
	m.retired.plis.Add(t.plis)
}
