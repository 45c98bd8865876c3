// Package render is the render socket: the local WebSocket over which the
// desktop app hands encoded video frames to its webview, which decodes them
// with WebCodecs and draws them. Encoded frames cross, never pixels: a
// 640×360 VP8 frame is a few kilobytes, its pixels 345 kB.
//
// The socket listens on 127.0.0.1 on a random port and only accepts the URL
// that carries this run's secret token, so other local programs and web
// pages cannot read anyone's video. One webview connects at a time; a new
// connection (the page reloaded) replaces the old one.
//
// Wire format. Server to webview, one binary message per frame, big-endian:
//
//	offset size
//	0      1    message type: 1 = frame
//	1      1    flags: bit 0 = keyframe
//	2      2    reserved, 0
//	4      4    track id (assigned by Server.AddTrack)
//	8      8    timestamp in microseconds since the track's first frame
//	16     …    one complete VP8 frame
//
// Webview to server, text JSON: {"type":"want","ids":[1,2],"half":[2]}
// lists the tracks whose tiles are visible. Only those are sent (and
// decoded); a track that becomes wanted starts with its last keyframe and
// the frames since, so its tile shows a picture at once. Tracks also in
// "half" are drawn small: they get only the frames that others refer to,
// leaving out the non-reference ones (half of a desktop camera's), which
// halves their decoding with no keyframe needed to switch either way.
package render

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"

	"parley/media/vp8"
)

// Message types and flags of the wire format.
const (
	MsgFrame     = 1
	FlagKeyframe = 1 << 0
	HeaderSize   = 16
)

// Limits.
const (
	// queueFrames is how many frames wait for the webview at most; past
	// that the webview is not keeping up and frames are dropped.
	queueFrames = 90
	// maxGOPBytes bounds the frames kept since the last keyframe per
	// track; a longer group is not replayed (the track waits for the
	// next keyframe instead).
	maxGOPBytes  = 3 << 20
	maxGOPFrames = 150
	writeTimeout = 5 * time.Second
)

// Server is the render socket.
type Server struct {
	log   *slog.Logger
	token string
	ln    net.Listener
	http  *http.Server
	ctx   context.Context
	stop  context.CancelFunc
	wg    sync.WaitGroup

	// keyframes carries tracks that need a keyframe to the goroutine
	// that asks their senders, outside the lock.
	keyframes chan *Track

	mu     sync.Mutex
	tracks map[uint32]*Track
	nextID uint32
	conn   *conn
}

// Listen starts a render socket on 127.0.0.1 with a fresh secret.
func Listen(log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.Default()
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("render socket: secret: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("render socket: listen: %w", err)
	}
	ctx, stop := context.WithCancel(context.Background())
	s := &Server{
		log:       log,
		token:     hex.EncodeToString(secret),
		ln:        ln,
		ctx:       ctx,
		stop:      stop,
		tracks:    make(map[uint32]*Track),
		keyframes: make(chan *Track, 64),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /render", s.handle)
	s.http = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		s.keyframeLoop()
	}()
	go func() {
		defer s.wg.Done()
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("render socket stopped", "err", err)
		}
	}()
	return s, nil
}

// URL is what the webview connects to, secret included.
func (s *Server) URL() string {
	return fmt.Sprintf("ws://%s/render?token=%s", s.ln.Addr(), s.token)
}

// Close stops the socket and forgets every track.
func (s *Server) Close() error {
	s.stop()
	err := s.http.Close()
	s.mu.Lock()
	c := s.conn
	s.conn = nil
	s.mu.Unlock()
	if c != nil {
		c.close()
	}
	s.wg.Wait()
	if err != nil {
		return fmt.Errorf("render socket: close: %w", err)
	}
	return nil
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	// The token is the access control; the Host check stops a web page
	// from reaching the socket through a DNS name that resolves here.
	if subtle.ConstantTimeCompare([]byte(r.URL.Query().Get("token")), []byte(s.token)) != 1 ||
		r.Host != s.ln.Addr().String() {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	// The webview's origin (wails://…) differs from the socket's; the
	// token already proves the page is ours.
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		s.log.Warn("render socket: accept", "err", err)
		return
	}
	ws.SetReadLimit(64 << 10)
	c := &conn{ws: ws, queue: make(chan []byte, queueFrames), done: make(chan struct{})}
	s.mu.Lock()
	old := s.conn
	s.conn = c
	var changed wantChanges
	for _, t := range s.tracks {
		changed.set(t, false, false)
		t.synced = false
	}
	s.mu.Unlock()
	changed.tell()
	if old != nil {
		old.close()
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		c.writeLoop(s.ctx)
	}()
	s.readLoop(c)
	c.close()
	s.mu.Lock()
	if s.conn == c {
		s.conn = nil
	}
	s.mu.Unlock()
}

type wantMsg struct {
	Type string   `json:"type"`
	IDs  []uint32 `json:"ids"`
	Half []uint32 `json:"half"`
}

func (s *Server) readLoop(c *conn) {
	for {
		typ, data, err := c.ws.Read(s.ctx)
		if err != nil {
			return
		}
		if typ != websocket.MessageText {
			continue
		}
		var m wantMsg
		if err := json.Unmarshal(data, &m); err != nil || m.Type != "want" {
			s.log.Debug("render socket: ignoring message", "err", err)
			continue
		}
		s.setWanted(c, m.IDs, m.Half)
	}
}

// setWanted applies the webview's list of visible tracks (and of those
// drawn small); tracks that become wanted get their group of pictures
// replayed.
func (s *Server) setWanted(c *conn, ids, halfIDs []uint32) {
	want := make(map[uint32]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	half := make(map[uint32]bool, len(halfIDs))
	for _, id := range halfIDs {
		half[id] = true
	}
	var changed wantChanges
	defer func() { changed.tell() }() // after the unlock, with what set added
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != c {
		return
	}
	for id, t := range s.tracks {
		if changed.set(t, want[id], half[id]) && want[id] {
			t.startLocked(c)
		}
	}
}

// wantChanges collects the onWanted calls due while s.mu is held, to make
// them after: the callbacks may block (they send a message to the room).
type wantChanges []func()

// set sets t.wanted and t.half with s.mu held and reports whether wanted
// changed.
func (w *wantChanges) set(t *Track, wanted, half bool) bool {
	if t.wanted == wanted && t.half == half {
		return false
	}
	wantedChanged := t.wanted != wanted
	t.wanted, t.half = wanted, half
	if f := t.onWanted; f != nil {
		*w = append(*w, func() { f(wanted, half) })
	}
	return wantedChanged
}

func (w wantChanges) tell() {
	for _, f := range w {
		f()
	}
}

// TrackInfo describes a track for logs.
type TrackInfo struct {
	Participant string
	Track       string
}

// Track is one video stream going to the webview.
type Track struct {
	ID   uint32
	info TrackInfo
	s    *Server
	// requestKeyframe asks the sender for a keyframe (may be nil).
	requestKeyframe func()
	// onWanted hears when the webview starts or stops wanting the track,
	// or drawing it small (may be nil; see SetOnWanted).
	onWanted func(wanted, half bool)

	// Guarded by s.mu: the per-frame work is a few appends, and one lock
	// keeps "wanted", the GOP and the connection's queue consistent.
	wanted   bool
	half     bool // only the frames others refer to (a small tile)
	synced   bool // the webview has this track's decoder state
	gop      []queued
	gopBytes int
	gopValid bool // gop starts with a keyframe
	base     int64
	lastRTP  uint32
	extTS    int64
	started  bool
	closed   bool
	stats    TrackStats
}

// TrackStats count one track's frames.
type TrackStats struct {
	Frames  uint64 // frames written by the producer
	Sent    uint64 // frames queued to the webview
	Dropped uint64 // frames the webview could not take
	// Skipped counts non-reference frames left out at half rate.
	Skipped uint64
}

type queued struct {
	msg    []byte
	key    bool
	nonRef bool
}

// AddTrack registers a video track; requestKeyframe (may be nil) is called
// when the webview needs a keyframe that is not cached.
func (s *Server) AddTrack(info TrackInfo, requestKeyframe func()) *Track {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	t := &Track{ID: s.nextID, info: info, s: s, requestKeyframe: requestKeyframe}
	s.tracks[t.ID] = t
	return t
}

// SetOnWanted makes f hear whenever the webview starts (wanted) or stops
// wanting the track, its tile shown or hidden, and whenever it starts
// (half) or stops drawing it small, when only the frames others refer to
// are drawn. f runs on the socket's goroutine, with no lock held.
func (t *Track) SetOnWanted(f func(wanted, half bool)) {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	t.onWanted = f
}

// Tracks is how many tracks the socket holds (each with its frames since
// the last keyframe): what a meeting left behind shows here.
func (s *Server) Tracks() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.tracks)
}

// Close removes the track.
func (t *Track) Close() {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	t.closed = true
	t.gop = nil
	delete(t.s.tracks, t.ID)
}

// Stats returns the track's counters.
func (t *Track) Stats() TrackStats {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	return t.stats
}

// WriteFrame hands a complete VP8 frame (Data, Keyframe, NonReference and
// the 90 kHz Timestamp) to the webview, if it is watching the track. It
// never blocks.
func (t *Track) WriteFrame(f vp8.Frame) {
	s := t.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.closed {
		return
	}
	t.stats.Frames++
	q := queued{msg: t.encodeLocked(f.Data, f.Keyframe, f.Timestamp), key: f.Keyframe, nonRef: f.NonReference}
	t.remember(q)
	if !t.wanted || s.conn == nil {
		return
	}
	if !t.synced {
		if !f.Keyframe {
			return
		}
		t.synced = true
	}
	t.sendLocked(s.conn, q)
}

// encodeLocked builds the wire message, unwrapping the RTP timestamp.
func (t *Track) encodeLocked(data []byte, keyframe bool, ts uint32) []byte {
	if !t.started {
		t.started, t.lastRTP, t.extTS = true, ts, 0
	} else {
		t.extTS += int64(int32(ts - t.lastRTP))
		t.lastRTP = ts
	}
	msg := make([]byte, HeaderSize+len(data))
	msg[0] = MsgFrame
	if keyframe {
		msg[1] = FlagKeyframe
	}
	binary.BigEndian.PutUint32(msg[4:], t.ID)
	micros := t.extTS * 100 / 9 // 90 kHz → µs
	binary.BigEndian.PutUint64(msg[8:], uint64(max(micros, 0)))
	copy(msg[HeaderSize:], data)
	return msg
}

// remember keeps the frames since the last keyframe for replay.
func (t *Track) remember(q queued) {
	if q.key {
		t.gop, t.gopBytes, t.gopValid = t.gop[:0], 0, true
	}
	if !t.gopValid {
		return
	}
	if len(t.gop) >= maxGOPFrames || t.gopBytes+len(q.msg) > maxGOPBytes {
		t.gop, t.gopBytes, t.gopValid = nil, 0, false
		return
	}
	t.gop = append(t.gop, q)
	t.gopBytes += len(q.msg)
}

// startLocked begins sending a track that became wanted: the cached group
// of pictures if there is one, else from the next keyframe.
func (t *Track) startLocked(c *conn) {
	t.synced = false
	if !t.gopValid || len(t.gop) == 0 {
		t.askKeyframe()
		return
	}
	t.synced = true
	for _, q := range t.gop {
		if !t.sendLocked(c, q) {
			return
		}
	}
}

// sendLocked queues a message (unless the track is at half rate and
// nothing refers to the frame); a full queue drops it, and the track then
// waits for a keyframe because the decoder's state is broken.
func (t *Track) sendLocked(c *conn, q queued) bool {
	if t.half && q.nonRef {
		t.stats.Skipped++
		return true
	}
	select {
	case c.queue <- q.msg:
		t.stats.Sent++
		return true
	default:
		t.stats.Dropped++
		t.synced = false
		t.askKeyframe()
		return false
	}
}

func (t *Track) askKeyframe() {
	if t.requestKeyframe == nil {
		return
	}
	select {
	case t.s.keyframes <- t:
	default: // requests are already waiting; one more adds nothing
	}
}

// keyframeLoop calls the tracks' keyframe requesters, which may touch the
// network, away from the lock that frames are written under.
func (s *Server) keyframeLoop() {
	for {
		select {
		case <-s.ctx.Done():
			return
		case t := <-s.keyframes:
			t.requestKeyframe()
		}
	}
}

type conn struct {
	ws    *websocket.Conn
	queue chan []byte
	once  sync.Once
	done  chan struct{}
}

func (c *conn) close() {
	c.once.Do(func() {
		close(c.done)
		_ = c.ws.CloseNow()
	})
}

func (c *conn) writeLoop(ctx context.Context) {
	defer c.close()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.done:
			return
		case msg := <-c.queue:
			wctx, cancel := context.WithTimeout(ctx, writeTimeout)
			err := c.ws.Write(wctx, websocket.MessageBinary, msg)
			cancel()
			if err != nil {
				return
			}
		}
	}
}
