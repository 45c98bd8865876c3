package discovery

import (
	"errors"
	"fmt"
)

// Room is what a host says about one of its rooms. Advertise publishes it;
// Browse returns it, decoded from the TXT record and sanitised.
type Room struct {
	// Name is the room's name as the host gave it. The advertised instance
	// name starts out as Name and is made unique on the network (see
	// Advertiser.Instance and Entry.Instance).
	Name string `json:"name"`
	// Host is the host's display name.
	Host         string `json:"host"`
	Participants int    `json:"participants"`
	Password     bool   `json:"password"`
	Locked       bool   `json:"locked"`
	// Lobby: joiners wait in a waiting room until a host lets them in.
	Lobby bool `json:"lobby"`
	// Port and Path locate the room on the host's HTTPS server; an invite
	// URL is https://ADDR:Port + Path + "#fp=" + Fingerprint. Path is in
	// the form that URL carries it: what the host's invite link has after
	// the port ("/r/Caf%C3%A9-sync", the name percent-escaped), not the
	// decoded path. Raw UTF-8 is accepted too, and escaped in the URL.
	Port int    `json:"port"`
	Path string `json:"path"`
	// Fingerprint is the host certificate's "sha256:<hex>" fingerprint,
	// which the joining app pins.
	Fingerprint string `json:"fingerprint"`
	// ProtocolVersion is the signaling protocol version the host speaks.
	ProtocolVersion int `json:"protocolVersion"`
}

// normalize returns the room as it will be advertised (names cleaned and
// cut to MaxNameRunes, fingerprint in lowercase hex) or says why it cannot
// be advertised. Cleaning here means what we send is what browsers show.
func (r Room) normalize() (Room, error) {
	r.Name = cleanText(r.Name, MaxNameRunes)
	if r.Name == "" {
		return Room{}, errors.New("room name is empty")
	}
	r.Host = cleanText(r.Host, MaxNameRunes)
	if r.Participants < 0 || r.Participants > maxParticipants {
		return Room{}, fmt.Errorf("participant count %d out of range", r.Participants)
	}
	if r.Port < 1 || r.Port > 65535 {
		return Room{}, fmt.Errorf("port %d out of range", r.Port)
	}
	if err := validatePath(r.Path); err != nil {
		return Room{}, fmt.Errorf("room path: %w", err)
	}
	fp, err := normalizeFingerprint(r.Fingerprint)
	if err != nil {
		return Room{}, err
	}
	r.Fingerprint = fp
	if r.ProtocolVersion < 1 || r.ProtocolVersion > maxVersion {
		return Room{}, fmt.Errorf("protocol version %d out of range", r.ProtocolVersion)
	}
	return r, nil
}
