package main

import (
	"fmt"
	"strings"

	"github.com/pion/webrtc/v4"

	"parley/backend/signal"
)

// iceServerList is a repeatable --ice-server flag. Each value is a STUN or
// TURN URL, with credentials for TURN written into it:
//
//	stun:stun.example.com:3478
//	turn:alice:s3cret@turn.example.com:3478?transport=udp
type iceServerList []signal.ICEServer

func (l *iceServerList) String() string {
	urls := make([]string, 0, len(*l))
	for _, s := range *l {
		urls = append(urls, s.URLs...)
	}
	return strings.Join(urls, ",")
}

func (l *iceServerList) Set(v string) error {
	s, err := parseICEServer(v)
	if err != nil {
		return err
	}
	*l = append(*l, s)
	return nil
}

func parseICEServer(v string) (signal.ICEServer, error) {
	scheme, rest, ok := strings.Cut(strings.TrimSpace(v), ":")
	switch {
	case !ok:
		return signal.ICEServer{}, fmt.Errorf("ICE server %q: want stun:HOST:PORT or turn:USER:PASS@HOST:PORT", v)
	case scheme != "stun" && scheme != "stuns" && scheme != "turn" && scheme != "turns":
		return signal.ICEServer{}, fmt.Errorf("ICE server %q: scheme must be stun, stuns, turn or turns", v)
	}
	s := signal.ICEServer{}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		user, pass, ok := strings.Cut(rest[:at], ":")
		if !ok || user == "" {
			return signal.ICEServer{}, fmt.Errorf("ICE server %q: credentials must be USER:PASS@", v)
		}
		s.Username, s.Credential, rest = user, pass, rest[at+1:]
	}
	if rest == "" {
		return signal.ICEServer{}, fmt.Errorf("ICE server %q has no host", v)
	}
	if strings.HasPrefix(scheme, "turn") && s.Username == "" {
		return signal.ICEServer{}, fmt.Errorf("ICE server %q: TURN needs USER:PASS@ credentials", v)
	}
	s.URLs = []string{scheme + ":" + rest}
	if err := s.Validate(); err != nil {
		return signal.ICEServer{}, fmt.Errorf("ICE server %q: %w", v, err)
	}
	return s, nil
}

func (l iceServerList) pion() []webrtc.ICEServer {
	out := make([]webrtc.ICEServer, 0, len(l))
	for _, s := range l {
		out = append(out, webrtc.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential})
	}
	return out
}
