package server

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // TURN REST credentials are HMAC-SHA1 by definition.
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/pion/turn/v5"

	"parley/backend/rtcconf"
	"parley/backend/signal"
)

// TURNConfig configures the embedded TURN relay, for participants whose
// networks block direct media (symmetric NATs, UDP-hostile firewalls). It
// relays only for participants of a room on this host, only UDP, and only
// to this host's own addresses at the ports the SFU's media sockets use
// (relayports.go): it is no open relay.
type TURNConfig struct {
	// Port for TURN over UDP and TCP (3478 is the standard one); the same
	// number on both. 0 with TURN set picks a free UDP port and no TCP.
	Port int
	// ListenIP is the address to listen on [0.0.0.0].
	ListenIP string
	// RelayIP is the address relay sockets are opened on [ListenIP if
	// specific, else this machine's LAN address]. Only the SFU, on this
	// same machine, ever sends to a relay address (no other peer is
	// permitted), so it need not be reachable from outside: clients reach
	// the relay through the TURN port at the invite link's host, which is
	// what port forwarding must expose.
	RelayIP string
	// CredentialTTL is how long the credentials in welcome stay valid
	// [10m]; a client that reconnects gets fresh ones. An allocation made
	// while they were valid lives on.
	CredentialTTL time.Duration
	// AllowLoopback lets the relay send to loopback and link-local peers.
	// Only for tests on one machine: otherwise a client could reach
	// services bound to the host's loopback through the relay.
	AllowLoopback bool
}

// turnRelay is the running TURN server.
type turnRelay struct {
	srv    *turn.Server
	secret string
	host   string // in turn: URLs
	udp    int
	tcp    int // 0: none
	ttl    time.Duration
}

const turnRealm = "parley"

// startTURN listens for TURN; ownIPs reports the addresses the relay may
// send to (this host's), liveRoom whether a room has participants.
func (s *Server) startTURN(tc TURNConfig) (*turnRelay, error) {
	listen := tc.ListenIP
	if listen == "" {
		listen = "0.0.0.0"
	}
	relayIP := net.ParseIP(tc.RelayIP)
	if tc.RelayIP == "" {
		if ip := net.ParseIP(listen); ip != nil && !ip.IsUnspecified() {
			relayIP = ip
		} else if relayIP = firstLANAddress(); relayIP == nil {
			relayIP = net.IPv4(127, 0, 0, 1)
		}
	}
	if relayIP == nil {
		return nil, fmt.Errorf("turn: relay IP %q is not an IP address", tc.RelayIP)
	}
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails since Go 1.24
	r := &turnRelay{secret: base64.RawStdEncoding.EncodeToString(b[:]), host: s.advertiseHost(), ttl: tc.CredentialTTL}
	if r.ttl <= 0 {
		r.ttl = 10 * time.Minute
	}
	pc, err := net.ListenPacket("udp4", net.JoinHostPort(listen, strconv.Itoa(tc.Port)))
	if err != nil {
		return nil, fmt.Errorf("turn: listen udp: %w", err)
	}
	r.udp = pc.LocalAddr().(*net.UDPAddr).Port
	relays := &mediaRelay{
		RelayAddressGenerator: &turn.RelayAddressGeneratorStatic{RelayAddress: relayIP, Address: listen},
		ports:                 mediaPorts(s.cfg.RTC.UDPPortMin, s.cfg.RTC.UDPPortMax),
		turnPort:              r.udp,
	}
	var lns []turn.ListenerConfig
	if tc.Port != 0 {
		ln, err := net.Listen("tcp4", net.JoinHostPort(listen, strconv.Itoa(tc.Port)))
		if err != nil {
			_ = pc.Close()
			return nil, fmt.Errorf("turn: listen tcp: %w", err)
		}
		r.tcp = ln.Addr().(*net.TCPAddr).Port
		lns = append(lns, turn.ListenerConfig{
			Listener:              ln,
			RelayAddressGenerator: relays,
			PermissionHandler:     s.turnPermission(tc.AllowLoopback),
		})
	}
	lf := rtcconf.SlogLoggerFactory(s.cfg.Log)
	r.srv, err = turn.NewServer(turn.ServerConfig{
		Realm:         turnRealm,
		LoggerFactory: lf,
		AuthHandler:   s.turnAuth(r),
		PacketConnConfigs: []turn.PacketConnConfig{{
			PacketConn:            pc,
			RelayAddressGenerator: relays,
			PermissionHandler:     s.turnPermission(tc.AllowLoopback),
		}},
		ListenerConfigs: lns,
	})
	if err != nil {
		_ = pc.Close()
		for _, l := range lns {
			_ = l.Listener.Close()
		}
		return nil, fmt.Errorf("turn: %w", err)
	}
	return r, nil
}

// credentials are TURN REST style: username "<expiry>:<room>", password
// base64(HMAC-SHA1(secret, username)); the server recomputes the password
// from the username, so it stores nothing per client.
func (r *turnRelay) credentials(room string, now time.Time) (user, pass string) {
	user = strconv.FormatInt(now.Add(r.ttl).Unix(), 10) + ":" + room
	mac := hmac.New(sha1.New, []byte(r.secret))
	mac.Write([]byte(user))
	return user, base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// iceServer is the welcome's entry for the relay.
func (r *turnRelay) iceServer(room string) signal.ICEServer {
	user, pass := r.credentials(room, time.Now())
	urls := []string{"turn:" + net.JoinHostPort(r.host, strconv.Itoa(r.udp)) + "?transport=udp"}
	if r.tcp != 0 {
		urls = append(urls, "turn:"+net.JoinHostPort(r.host, strconv.Itoa(r.tcp))+"?transport=tcp")
	}
	return signal.ICEServer{URLs: urls, Username: user, Credential: pass}
}

var errTURNDenied = errors.New("turn: credentials refused")

// turnAuth accepts unexpired credentials of this server for a room that
// has participants on it right now.
func (s *Server) turnAuth(r *turnRelay) turn.AuthHandler {
	return func(ra *turn.RequestAttributes) (string, []byte, bool) {
		expiry, room, ok := strings.Cut(ra.Username, ":")
		exp, err := strconv.ParseInt(expiry, 10, 64)
		if !ok || err != nil || time.Now().Unix() > exp {
			s.cfg.Log.Debug("turn: refused", "user", ra.Username, "src", ra.SrcAddr, "err", errTURNDenied)
			return "", nil, false
		}
		s.mu.Lock()
		lr := s.live[room]
		s.mu.Unlock()
		if lr == nil || lr.state.Len() == 0 {
			s.cfg.Log.Debug("turn: refused: no such meeting", "room", room, "src", ra.SrcAddr)
			return "", nil, false
		}
		mac := hmac.New(sha1.New, []byte(r.secret))
		mac.Write([]byte(ra.Username))
		pass := base64.StdEncoding.EncodeToString(mac.Sum(nil))
		return ra.Username, turn.GenerateAuthKey(ra.Username, ra.Realm, pass), true
	}
}

// turnPermission lets a relay send only to this host's own addresses,
// where the SFU listens: every participant's media goes to the SFU, so no
// legitimate peer is elsewhere.
func (s *Server) turnPermission(allowLoopback bool) turn.PermissionHandler {
	return func(_ net.Addr, peer net.IP) bool {
		if peer.IsLoopback() || peer.IsLinkLocalUnicast() || peer.IsUnspecified() || peer.IsMulticast() {
			return allowLoopback && !peer.IsUnspecified() && !peer.IsMulticast()
		}
		addrs, err := net.InterfaceAddrs()
		if err != nil {
			return false
		}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.Equal(peer) {
				return true
			}
		}
		for _, ip := range s.cfg.RTC.NAT1To1IPs {
			if net.ParseIP(ip).Equal(peer) {
				return true
			}
		}
		return false
	}
}

func (r *turnRelay) close() error {
	if err := r.srv.Close(); err != nil {
		return fmt.Errorf("turn: close: %w", err)
	}
	return nil
}
