package client

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"parley/backend/signal"
)

// Invite is a parsed invite link:
// https://HOST:PORT/r/ROOM#fp=sha256:HEX&t=TOKEN. Both fragment parameters
// are optional; the fragment never leaves the client in an HTTP request.
type Invite struct {
	// Base is scheme://host:port of the room's server.
	Base *url.URL
	Room string
	// Fingerprint pins the server's certificate ("sha256:<hex>"), or "".
	Fingerprint string
	// Token is the host's invite token (t=), or "": it stands in for the
	// password and the lobby.
	Token string
}

var fingerprintRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// ErrBadURL wraps every reason an invite link is unusable.
var ErrBadURL = errors.New("bad invite link")

// ParseInvite reads an invite link.
func ParseInvite(raw string) (Invite, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return Invite{}, fmt.Errorf("%w: %v", ErrBadURL, err)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return Invite{}, fmt.Errorf("%w: %q: want an https:// link", ErrBadURL, raw)
	}
	if u.Host == "" {
		return Invite{}, fmt.Errorf("%w: %q has no host", ErrBadURL, raw)
	}
	room, ok := strings.CutPrefix(u.EscapedPath(), "/r/")
	room = strings.TrimSuffix(room, "/")
	if !ok || room == "" || strings.Contains(room, "/") {
		return Invite{}, fmt.Errorf("%w: %q has no room (want …/r/ROOM)", ErrBadURL, raw)
	}
	room, err = url.PathUnescape(room)
	if err != nil {
		return Invite{}, fmt.Errorf("%w: room name: %v", ErrBadURL, err)
	}
	inv := Invite{Base: &url.URL{Scheme: u.Scheme, Host: u.Host}, Room: room}
	if u.Fragment != "" {
		frag, err := url.ParseQuery(u.Fragment)
		if err != nil {
			return Invite{}, fmt.Errorf("%w: fragment: %v", ErrBadURL, err)
		}
		fp := strings.ToLower(frag.Get("fp"))
		if fp != "" && !fingerprintRE.MatchString(fp) {
			return Invite{}, fmt.Errorf("%w: fingerprint %q is not sha256:<64 hex digits>", ErrBadURL, fp)
		}
		inv.Fingerprint = fp
		inv.Token = frag.Get("t")
		if err := signal.ValidateToken("invite token", inv.Token); err != nil {
			return Invite{}, fmt.Errorf("%w: %v", ErrBadURL, err)
		}
	}
	// A pinned certificate means TLS: an http:// link with #fp= was
	// retyped, and the host would answer plain HTTP with an error.
	if inv.Fingerprint != "" {
		inv.Base.Scheme = "https"
	}
	return inv, nil
}

// WebSocketURL is the signaling endpoint of the invite's server.
func (inv Invite) WebSocketURL() string {
	scheme := "wss"
	if inv.Base.Scheme == "http" {
		scheme = "ws"
	}
	return scheme + "://" + inv.Base.Host + "/ws"
}

// ErrIdentityChanged means the server's certificate is not the one the
// invite link pinned: another machine, or the host's key was replaced.
var ErrIdentityChanged = errors.New("this host's identity changed: its certificate does not match the invite link")

// ErrUntrusted means the server's certificate could not be checked: no
// pin in the link (a self-signed host's links carry #fp=…) and no CA
// vouching for it.
var ErrUntrusted = errors.New("the host's certificate cannot be checked: use the whole invite link, with its #fp= part")

// tlsConfig verifies the server: by the pinned fingerprint when the link
// has one (self-signed hosts), else by the system's CAs.
func (inv Invite) tlsConfig(insecure bool) *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	switch {
	case insecure:
		cfg.InsecureSkipVerify = true
	case inv.Fingerprint != "":
		cfg.InsecureSkipVerify = true // replaced by the pin below
		want := inv.Fingerprint
		cfg.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return ErrIdentityChanged
			}
			sum := sha256.Sum256(raw[0])
			if "sha256:"+hex.EncodeToString(sum[:]) != want {
				return ErrIdentityChanged
			}
			return nil
		}
	}
	return cfg
}

// Answers says whether the invite's server answers for its room now,
// checked with the same trust as a join (the pinned certificate): a
// page left on "the meeting server stopped" rejoins when it does.
func (inv Invite) Answers(ctx context.Context, insecure bool) bool {
	u := *inv.Base
	u.Path = "/r/" + inv.Room
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, u.String(), nil)
	if err != nil {
		return false
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: inv.tlsConfig(insecure), DisableKeepAlives: true}}
	resp, err := hc.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
