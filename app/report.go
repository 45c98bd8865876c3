package app

import (
	"sort"
	"sync"

	"parley/backend/rtcconf"
	"parley/backend/signal"
)

// tileInfo is what Go knows about a render track.
type tileInfo struct {
	// m is the meeting the track belongs to: the report at exit lists
	// only the current meeting's tiles, never a previous one's.
	m                      *meeting
	participantID, trackID string
	kind                   signal.Kind
	self                   bool
}

// RenderStats is what the webview reports per render track: frames it
// decoded and drew.
type RenderStats struct {
	RenderID      uint32  `json:"renderId"`
	Width         int     `json:"width"`
	Height        int     `json:"height"`
	FramesDecoded uint64  `json:"framesDecoded"`
	DecodedFPS    float64 `json:"decodedFps"` // average over the last 10 s
}

// TileLayout is where the webview shows a tile, from the UI's data-tile
// elements (data-name, data-self, data-screen, data-state), in CSS pixels
// of the window.
type TileLayout struct {
	Participant string  `json:"participant"`
	Self        bool    `json:"self,omitempty"`
	Screen      bool    `json:"screen,omitempty"`
	State       string  `json:"state"`
	X           float64 `json:"x"`
	Y           float64 `json:"y"`
	Width       float64 `json:"width"`
	Height      float64 `json:"height"`
	// Stats is the stats overlay's text on the tile, when it is on.
	Stats string `json:"stats,omitempty"`
}

// RenderReport is the webview's periodic report.
type RenderReport struct {
	Tracks []RenderStats `json:"tracks"`
	Layout []TileLayout  `json:"layout"`
	// DevicePixelRatio maps CSS pixels to screen pixels.
	DevicePixelRatio float64 `json:"devicePixelRatio"`
	// Seq counts the webview's reports in a meeting: calls may arrive
	// out of order, and only a later one replaces an earlier one.
	Seq int `json:"seq"`
}

// tileBook joins render tracks with the webview's reports about them. It
// holds only what is live: the report at exit says what the window showed
// then, so a track that ended (a participant who left, a stopped share, a
// meeting left) takes its figures with it.
type tileBook struct {
	mu    sync.Mutex
	info  map[uint32]tileInfo
	stats map[uint32]RenderStats
	// layout is the webview's last tile layout, reported during
	// layoutOf (a layout of a meeting that ended is not on screen).
	layout   []TileLayout
	layoutOf *meeting
	dpr      float64
	seq      int // of the report that gave layout
}

func newTileBook() *tileBook {
	return &tileBook{info: map[uint32]tileInfo{}, stats: map[uint32]RenderStats{}}
}

func (b *tileBook) add(id uint32, ti tileInfo) {
	b.mu.Lock()
	b.info[id] = ti
	b.mu.Unlock()
}

// remove forgets a track that ended, with the webview's figures for it:
// its tile is gone from the window.
func (b *tileBook) remove(id uint32) {
	b.mu.Lock()
	delete(b.info, id)
	delete(b.stats, id)
	b.mu.Unlock()
}

// forget drops what is left of meeting m when it ends: tracks not removed
// one by one (our own camera and screen, stopped with the meeting) and
// its layout.
func (b *tileBook) forget(m *meeting) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for id, ti := range b.info {
		if ti.m == m {
			delete(b.info, id)
			delete(b.stats, id)
		}
	}
	if b.layoutOf == m {
		b.layout, b.layoutOf, b.dpr, b.seq = nil, nil, 0, 0
	}
}

// ReportRender receives the webview's per-track decoding counters and its
// tile layout (every second or so, and once more as it leaves a meeting).
// Each report lists every track the webview draws, so it replaces the
// last one; a track Go has ended meanwhile, a report that arrives after
// the meeting ended, or one older than the last, describes nothing on
// screen and is left out.
func (a *App) ReportRender(r RenderReport) {
	m, err := a.current()
	if err != nil {
		return
	}
	a.tiles.mu.Lock()
	defer a.tiles.mu.Unlock()
	if a.tiles.layoutOf == m && r.Seq <= a.tiles.seq {
		return
	}
	a.tiles.layout, a.tiles.layoutOf, a.tiles.dpr, a.tiles.seq = r.Layout, m, r.DevicePixelRatio, r.Seq
	clear(a.tiles.stats)
	for _, st := range r.Tracks {
		if ti, ok := a.tiles.info[st.RenderID]; ok && ti.m == m {
			a.tiles.stats[st.RenderID] = st
		}
	}
}

// ReportView records the screen the window shows (the data-view of its
// top element: "lobby", "meeting", "password", an error screen's name),
// for --report: a test can tell where a window ended up without reading
// pixels. seq counts the webview's reports: calls may arrive out of order,
// and only a later one replaces an earlier one.
func (a *App) ReportView(view string, seq int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if seq <= a.viewSeq {
		return
	}
	a.view, a.viewSeq = view, seq
	a.opts.Log.Info("window shows", "view", view)
}

// Report is written to --report at exit.
type Report struct {
	// View is the screen shown at exit (see ReportView).
	View  string       `json:"view,omitempty"`
	Tiles []TileReport `json:"tiles"`
	Audio AudioReport  `json:"audio"`
	// Layout is where the tiles were on screen, for screenshots.
	Layout           []TileLayout `json:"layout"`
	DevicePixelRatio float64      `json:"devicePixelRatio,omitempty"`
	// Received is every received track's transport counters.
	Received []TrackStats `json:"received,omitempty"`
}

// TileReport is one video tile as the webview drew it.
type TileReport struct {
	Participant   string      `json:"participant"`
	Kind          signal.Kind `json:"kind"`
	Self          bool        `json:"self,omitempty"`
	Width         int         `json:"width"`
	Height        int         `json:"height"`
	DecodedFPS    float64     `json:"decoded_fps"`
	FramesDecoded uint64      `json:"frames_decoded"`
}

// AudioReport says whose audio we played and which microphone we used.
type AudioReport struct {
	Playing []string `json:"playing"`
	Mic     string   `json:"mic"`
}

func (a *App) report() Report {
	a.mu.Lock()
	view := a.view
	a.mu.Unlock()
	r := Report{View: view, Tiles: []TileReport{}, Audio: AudioReport{Playing: []string{}}}
	m, _ := a.current()
	name := func(id string) string {
		if m == nil {
			return id
		}
		return m.name(id)
	}
	r.Layout = []TileLayout{}
	a.tiles.mu.Lock()
	// Out of a meeting (m == nil) the window shows no tiles.
	if m != nil && a.tiles.layoutOf == m {
		r.Layout, r.DevicePixelRatio = append(r.Layout, a.tiles.layout...), a.tiles.dpr
	}
	for id, st := range a.tiles.stats {
		ti, ok := a.tiles.info[id]
		if !ok || m == nil || ti.m != m {
			continue
		}
		kind := ti.kind
		if kind == signal.KindVideo || kind == "" {
			kind = signal.KindVideo
		}
		r.Tiles = append(r.Tiles, TileReport{
			Participant: name(ti.participantID), Kind: kind, Self: ti.self,
			Width: st.Width, Height: st.Height, DecodedFPS: st.DecodedFPS, FramesDecoded: st.FramesDecoded,
		})
	}
	a.tiles.mu.Unlock()
	sort.Slice(r.Tiles, func(i, j int) bool {
		if r.Tiles[i].Participant != r.Tiles[j].Participant {
			return r.Tiles[i].Participant < r.Tiles[j].Participant
		}
		return r.Tiles[i].Kind < r.Tiles[j].Kind
	})
	r.Audio = a.audio.report(name)
	if m != nil {
		r.Received, _ = a.Stats()
	}
	return r
}

// clientRTC and serverRTC derive each side's ICE options from the app's:
// the interface restriction applies to both, and loopback candidates are
// always gathered so that a host reaches its own server with no network.
func clientRTC(o rtcconf.Options) rtcconf.Options {
	return rtcconf.Options{Interfaces: o.Interfaces, IncludeLoopback: true, LoopbackOnly: o.LoopbackOnly}
}

func serverRTC(o rtcconf.Options) rtcconf.Options {
	return rtcconf.Options{Interfaces: o.Interfaces, IncludeLoopback: true, LoopbackOnly: o.LoopbackOnly}
}
