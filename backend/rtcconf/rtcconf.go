// Package rtcconf builds the pion *webrtc.API that Parley uses everywhere:
// in the SFU (backend/sfu, backend/server) and in Go participants
// (backend/client).
//
// One place decides the codecs (VP8 payload type 96, Opus payload type 111,
// nothing else), the RTCP feedback, the RTP header extensions, the
// interceptors of each role and the ICE settings (mDNS is always off: Parley
// never wants ".local" candidates).
//
// Interceptors per role:
//
//	              SFU                              Client
//	cc (GCC)      yes, per PC, no pacer            yes, per PC, no pacer
//	TWCC ext      yes (outgoing packets)           yes (outgoing packets)
//	NACK gen.     yes (toward publishers)          yes (toward the SFU)
//	NACK resp.    NO: the SFU answers NACKs        yes
//	              from its own packet cache
//	RTCP reports  yes (SR and RR)                  yes (SR and RR)
//	TWCC feedback yes (so publishers adapt)        yes (so the SFU's GCC adapts)
//	stats         no (backend/sfu keeps counters)  yes (GetStats)
//
// Interceptors are registered per API, not per track, so the SFU cannot have
// "a NACK responder for some tracks": its one API simply has none, and
// backend/sfu's DownTrack resends from its packet cache with rewritten
// sequence numbers. A pion responder would buffer every outgoing packet a
// second time and answer NACKs with the same packets again.
//
// The congestion controller (pion/interceptor/pkg/cc with GCC) runs in both
// roles. Its estimate is per PeerConnection; look it up with
// [Engine.Estimator] or [Engine.TargetBitrate]. In the client it is the
// encoder's target bitrate (combine it with REMB from the SFU, see
// backend/sfu); in the SFU it is what a subscriber's downlink can take, and
// backend/sfu turns it into REMB toward the publishers.
package rtcconf

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/stats"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/logging"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// Payload types Parley negotiates. They are fixed so that logs, captures and
// the browser frontend agree on them.
const (
	PayloadTypeVP8  webrtc.PayloadType = 96
	PayloadTypeOpus webrtc.PayloadType = 111
)

// Header extension URIs Parley negotiates.
const (
	AudioLevelURI  = sdp.AudioLevelURI  // urn:ietf:params:rtp-hdrext:ssrc-audio-level (audio)
	TransportCCURI = sdp.TransportCCURI // transport-wide-cc (audio and video)
	SDESMidURI     = sdp.SDESMidURI     // urn:ietf:params:rtp-hdrext:sdes:mid (audio and video)
)

// Role selects the interceptors of an API.
type Role int

const (
	// RoleSFU is the media server: NACK generator toward publishers, no NACK
	// responder (the SFU answers NACKs itself), TWCC feedback toward
	// publishers, GCC per subscriber PeerConnection.
	RoleSFU Role = iota
	// RoleClient is a Go participant: pion's default interceptors (NACK
	// generator and responder, reports, stats, TWCC feedback) plus GCC.
	RoleClient
	// RolePlainRelay is pion's default interceptors and nothing else: the
	// bare relay that the benchmark measures the SFU against.
	RolePlainRelay
)

func (r Role) String() string {
	switch r {
	case RoleSFU:
		return "sfu"
	case RoleClient:
		return "client"
	case RolePlainRelay:
		return "plain-relay"
	default:
		return fmt.Sprintf("Role(%d)", int(r))
	}
}

// Default bitrates of the congestion controller, in bits per second.
const (
	// The SFU starts high: it forwards what publishers send and only ever
	// lowers their bitrate (REMB) when a subscriber's downlink congests, so
	// a slow start would throttle every publisher for the first minute.
	DefaultSFUInitialBitrate = 8_000_000
	DefaultSFUMaxBitrate     = 50_000_000
	// A client starts at a bitrate any link carries and ramps up.
	DefaultClientInitialBitrate = 1_000_000
	DefaultClientMaxBitrate     = 4_000_000
	DefaultMinBitrate           = 100_000
)

// Options configure an API. The zero value is a production SFU on all
// interfaces with an ephemeral port range.
type Options struct {
	Role Role

	// LoopbackOnly restricts ICE to 127.0.0.1 over UDP (IPv4): candidates are
	// gathered on loopback only. For tests; mDNS is off in every mode.
	LoopbackOnly bool

	// Interfaces, when not empty, limits ICE to these network interfaces
	// (a multi-homed host that should use only its LAN; "lo" alone keeps
	// a process on loopback, as the benchmark does).
	Interfaces []string

	// IncludeLoopback adds loopback host candidates next to the others. The
	// host joins its own room over loopback with this set, which keeps
	// working on a laptop without any network.
	IncludeLoopback bool

	// UDPPortMin and UDPPortMax bound the local UDP ports ICE uses
	// (both zero: ephemeral ports).
	UDPPortMin, UDPPortMax uint16

	// NAT1To1IPs replace the IP of host candidates (a server behind a 1:1
	// NAT, e.g. a cloud VM: its public IP).
	NAT1To1IPs []string

	// NetworkTypes limits ICE to these network types. Default: UDP over
	// IPv4 and IPv6 (UDP over IPv4 only with LoopbackOnly).
	NetworkTypes []webrtc.NetworkType

	// Congestion controller (GCC), in bits per second. Zero: the role's
	// defaults above.
	InitialBitrate, MinBitrate, MaxBitrate int
	// DisableBandwidthEstimation leaves out GCC (TWCC feedback and the TWCC
	// header extension are still negotiated).
	DisableBandwidthEstimation bool

	// LoggerFactory for pion; nil: slog.Default() at Debug (see SlogLoggerFactory).
	LoggerFactory logging.LoggerFactory

	// Configure, when set, is called last with the SettingEngine, for
	// settings this package has no option for (tests use it, e.g. to turn
	// SRTP replay protection off).
	Configure func(*webrtc.SettingEngine)
}

// Engine is an API plus the per-PeerConnection bandwidth estimators of its
// congestion controller.
type Engine struct {
	API  *webrtc.API
	Role Role

	mu         sync.Mutex
	estimators map[string]*estimator // by PeerConnection.ID()
}

// New returns the API for opts. Use [NewEngine] to also reach the bandwidth
// estimators.
func New(opts Options) (*webrtc.API, error) {
	e, err := NewEngine(opts)
	if err != nil {
		return nil, err
	}

	return e.API, nil
}

// NewEngine builds the API for opts.
func NewEngine(opts Options) (*Engine, error) {
	if opts.Role != RoleSFU && opts.Role != RoleClient && opts.Role != RolePlainRelay {
		return nil, fmt.Errorf("rtcconf: unknown role %v", opts.Role)
	}
	if opts.LoggerFactory == nil {
		opts.LoggerFactory = SlogLoggerFactory(slog.Default())
	}
	e := &Engine{Role: opts.Role, estimators: make(map[string]*estimator)}

	m, err := NewMediaEngine()
	if err != nil {
		return nil, err
	}
	ir, err := e.interceptors(m, opts)
	if err != nil {
		return nil, err
	}
	se, err := settingEngine(opts)
	if err != nil {
		return nil, err
	}
	e.API = webrtc.NewAPI(
		webrtc.WithMediaEngine(m),
		webrtc.WithInterceptorRegistry(ir),
		webrtc.WithSettingEngine(*se),
	)

	return e, nil
}

// NewPeerConnection is e.API.NewPeerConnection.
func (e *Engine) NewPeerConnection(cfg webrtc.Configuration) (*webrtc.PeerConnection, error) {
	return e.API.NewPeerConnection(cfg)
}

// Estimator returns the congestion controller of pc, or nil when pc was not
// created by this engine, is closed, or estimation is disabled.
// GetTargetBitrate is the bitrate pc may send, in bits per second.
func (e *Engine) Estimator(pc *webrtc.PeerConnection) cc.BandwidthEstimator {
	if e == nil || pc == nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if est, ok := e.estimators[pc.ID()]; ok {
		return est
	}

	return nil
}

// TargetBitrate is the congestion controller's current estimate for pc in
// bits per second; ok is false when there is no estimator for pc.
func (e *Engine) TargetBitrate(pc *webrtc.PeerConnection) (bps int, ok bool) {
	est := e.Estimator(pc)
	if est == nil {
		return 0, false
	}

	return est.GetTargetBitrate(), true
}

// VP8Codec is the video codec Parley sends.
func VP8Codec() webrtc.RTPCodecParameters {
	return webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType:  webrtc.MimeTypeVP8,
			ClockRate: 90000,
			RTCPFeedback: []webrtc.RTCPFeedback{
				{Type: webrtc.TypeRTCPFBGoogREMB},
				{Type: webrtc.TypeRTCPFBTransportCC},
				{Type: webrtc.TypeRTCPFBCCM, Parameter: "fir"},
				{Type: webrtc.TypeRTCPFBNACK},
				{Type: webrtc.TypeRTCPFBNACK, Parameter: "pli"},
			},
		},
		PayloadType: PayloadTypeVP8,
	}
}

// OpusCodec is the audio codec Parley sends.
func OpusCodec() webrtc.RTPCodecParameters {
	return webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType:    webrtc.MimeTypeOpus,
			ClockRate:   48000,
			Channels:    2,
			SDPFmtpLine: "minptime=10;useinbandfec=1",
			RTCPFeedback: []webrtc.RTCPFeedback{
				{Type: webrtc.TypeRTCPFBTransportCC},
			},
		},
		PayloadType: PayloadTypeOpus,
	}
}

// NewMediaEngine returns a MediaEngine with VP8 and Opus only and the header
// extensions Parley uses: audio level (audio), transport-wide-cc and
// sdes:mid (both).
func NewMediaEngine() (*webrtc.MediaEngine, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(VP8Codec(), webrtc.RTPCodecTypeVideo); err != nil {
		return nil, err
	}
	if err := m.RegisterCodec(OpusCodec(), webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	exts := []struct {
		uri   string
		kinds []webrtc.RTPCodecType
	}{
		{SDESMidURI, []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo}},
		{AudioLevelURI, []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio}},
		{TransportCCURI, []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo}},
	}
	for _, x := range exts {
		for _, k := range x.kinds {
			if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: x.uri}, k); err != nil {
				return nil, err
			}
		}
	}

	return m, nil
}

// interceptors builds the registry. Order matters: the last registered
// interceptor sees an outgoing packet first. Registering GCC first and the
// TWCC header extension second means a packet gets its transport sequence
// number before GCC records it as sent, and the NACK responder (client)
// sits outside both, so its retransmissions get fresh transport sequence
// numbers and are counted by GCC.
func (e *Engine) interceptors(m *webrtc.MediaEngine, opts Options) (*interceptor.Registry, error) {
	ir := &interceptor.Registry{}
	if opts.Role == RolePlainRelay {
		if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
			return nil, fmt.Errorf("rtcconf: default interceptors: %w", err)
		}
		return ir, nil
	}

	if !opts.DisableBandwidthEstimation {
		f, err := e.congestionController(opts)
		if err != nil {
			return nil, err
		}
		ir.Add(f)
	}
	// TWCC: transport sequence numbers on what we send, for the
	// controller above; without it they would only cost time per packet.
	// The feedback and header extension were registered in the MediaEngine.
	if !opts.DisableBandwidthEstimation {
		hdr, err := twcc.NewHeaderExtensionInterceptor()
		if err != nil {
			return nil, err
		}
		ir.Add(hdr)
	}

	var logOpts []nack.GeneratorOption
	if opts.LoggerFactory != nil {
		logOpts = append(logOpts, nack.WithGeneratorLoggerFactory(opts.LoggerFactory))
	}
	switch opts.Role {
	case RoleSFU:
		// NACK generator toward publishers only.
		gen, err := nack.NewGeneratorInterceptor(logOpts...)
		if err != nil {
			return nil, err
		}
		ir.Add(gen)
		if err := webrtc.ConfigureRTCPReports(ir); err != nil {
			return nil, err
		}
		// TWCC feedback for what publishers send us.
		if err := webrtc.ConfigureTWCCSenderWithOptions(m, ir, twcc.WithLoggerFactory(opts.LoggerFactory)); err != nil {
			return nil, err
		}
	case RoleClient:
		// pion's defaults without the simulcast header extensions: NACK
		// generator and responder, RTCP reports, stats, TWCC feedback.
		var respOpts []nack.ResponderOption
		var statsOpts []stats.Option
		if opts.LoggerFactory != nil {
			respOpts = append(respOpts, nack.WithResponderLoggerFactory(opts.LoggerFactory))
			statsOpts = append(statsOpts, stats.WithLoggerFactory(opts.LoggerFactory))
		}
		if err := webrtc.ConfigureNackWithOptions(m, ir, logOpts, respOpts...); err != nil {
			return nil, err
		}
		if err := webrtc.ConfigureRTCPReports(ir); err != nil {
			return nil, err
		}
		if err := webrtc.ConfigureStatsInterceptorWithOptions(ir, statsOpts...); err != nil {
			return nil, err
		}
		if err := webrtc.ConfigureTWCCSenderWithOptions(m, ir, twcc.WithLoggerFactory(opts.LoggerFactory)); err != nil {
			return nil, err
		}
	}

	return ir, nil
}

func (e *Engine) congestionController(opts Options) (*cc.InterceptorFactory, error) {
	initial, maxRate := DefaultSFUInitialBitrate, DefaultSFUMaxBitrate
	if opts.Role == RoleClient {
		initial, maxRate = DefaultClientInitialBitrate, DefaultClientMaxBitrate
	}
	minRate := DefaultMinBitrate
	if opts.InitialBitrate > 0 {
		initial = opts.InitialBitrate
	}
	if opts.MinBitrate > 0 {
		minRate = opts.MinBitrate
	}
	if opts.MaxBitrate > 0 {
		maxRate = opts.MaxBitrate
	}
	if minRate > maxRate {
		return nil, fmt.Errorf("rtcconf: MinBitrate %d > MaxBitrate %d", minRate, maxRate)
	}
	initial = min(max(initial, minRate), maxRate)

	gccOpts := []gcc.Option{
		gcc.SendSideBWEInitialBitrate(initial),
		gcc.SendSideBWEMinBitrate(minRate),
		gcc.SendSideBWEMaxBitrate(maxRate),
	}
	if opts.LoggerFactory != nil {
		gccOpts = append(gccOpts, gcc.WithLoggerFactory(opts.LoggerFactory))
	}
	factory, err := cc.NewInterceptor(func() (cc.BandwidthEstimator, error) {
		// No pacer: pion's leaky bucket queues and copies every packet; the
		// SFU forwards at the publisher's pace and a client's encoder
		// follows the target bitrate.
		o := append([]gcc.Option{gcc.SendSideBWEPacer(gcc.NewNoOpPacer())}, gccOpts...)

		bwe, err := gcc.NewSendSideBWE(o...)
		if err != nil {
			return nil, err
		}

		return &estimator{BandwidthEstimator: bwe, engine: e}, nil
	})
	if err != nil {
		return nil, err
	}
	// Called synchronously from API.NewPeerConnection with the new
	// PeerConnection's ID.
	factory.OnNewPeerConnection(func(id string, bwe cc.BandwidthEstimator) {
		est, ok := bwe.(*estimator)
		if !ok {
			return
		}
		e.mu.Lock()
		est.id = id
		e.estimators[id] = est
		e.mu.Unlock()
	})

	return factory, nil
}

// estimator removes itself from its engine when its PeerConnection closes.
type estimator struct {
	cc.BandwidthEstimator
	id     string
	engine *Engine
}

func (s *estimator) Close() error {
	s.engine.mu.Lock()
	if s.id != "" && s.engine.estimators[s.id] == s {
		delete(s.engine.estimators, s.id)
	}
	s.engine.mu.Unlock()

	return s.BandwidthEstimator.Close()
}

func settingEngine(opts Options) (*webrtc.SettingEngine, error) {
	se := &webrtc.SettingEngine{}
	if opts.LoggerFactory != nil {
		se.LoggerFactory = opts.LoggerFactory
	}
	// Never .local candidates, never multicast.
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)

	networks := opts.NetworkTypes
	if opts.LoopbackOnly {
		se.SetIncludeLoopbackCandidate(true)
		se.SetInterfaceFilter(isLoopbackInterface)
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() && ip.To4() != nil })
		if len(networks) == 0 {
			networks = []webrtc.NetworkType{webrtc.NetworkTypeUDP4}
		}
	} else if len(opts.Interfaces) > 0 {
		allowed := slices.Clone(opts.Interfaces)
		se.SetInterfaceFilter(func(name string) bool { return slices.Contains(allowed, name) })
		if opts.IncludeLoopback || slices.ContainsFunc(allowed, isLoopbackInterface) {
			se.SetIncludeLoopbackCandidate(true)
		}
	} else if opts.IncludeLoopback {
		se.SetIncludeLoopbackCandidate(true)
	}
	if len(networks) == 0 {
		networks = []webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6}
	}
	se.SetNetworkTypes(networks)

	if opts.UDPPortMin != 0 || opts.UDPPortMax != 0 {
		if err := se.SetEphemeralUDPPortRange(opts.UDPPortMin, opts.UDPPortMax); err != nil {
			return nil, fmt.Errorf("rtcconf: UDP port range: %w", err)
		}
	}
	if len(opts.NAT1To1IPs) > 0 {
		for _, ip := range opts.NAT1To1IPs {
			if net.ParseIP(strings.TrimSpace(ip)) == nil {
				return nil, fmt.Errorf("rtcconf: NAT1To1IPs: %w: %q", errBadIP, ip)
			}
		}
		err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External:        append([]string(nil), opts.NAT1To1IPs...),
			AsCandidateType: webrtc.ICECandidateTypeHost,
		})
		if err != nil {
			return nil, fmt.Errorf("rtcconf: NAT1To1IPs: %w", err)
		}
	}
	if opts.Configure != nil {
		opts.Configure(se)
	}

	return se, nil
}

var errBadIP = errors.New("not an IP address")

func isLoopbackInterface(name string) bool {
	ifc, err := net.InterfaceByName(name)
	if err != nil {
		return false
	}

	return ifc.Flags&net.FlagLoopback != 0
}
