package server

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"parley/backend/signal"
)

// Invite tokens let the host vouch for a joiner in the link itself: a
// token stands in for the room's password and lobby. It is
//
//	base64url(payload) "." base64url(HMAC-SHA256(secret, payload))
//
// with payload "1|<room>|<expiry unix seconds>|<role h or g>|<nonce>". The
// nonce is empty for reusable tokens; a one-time token's nonce is
// remembered until it expires, so a second use fails. The secret is
// Config.TokenSecret: `parley serve` keeps it in the config directory
// beside the host certificate (LoadOrCreateTokenSecret), so links stay
// valid across restarts; without one, a random secret dies with the server.

// TokenOptions say what a minted token allows.
type TokenOptions struct {
	// TTL is how long the token is valid (0: DefaultTokenTTL).
	TTL time.Duration
	// OneTime makes the token valid for a single join.
	OneTime bool
	// Host makes whoever joins with the token a host of the room.
	Host bool
}

// DefaultTokenTTL is the lifetime of a token minted without a TTL.
const DefaultTokenTTL = 24 * time.Hour

// maxUsedTokens bounds the memory of used one-time tokens. The host mints
// tokens, so only the host could fill it; past the bound, new one-time
// tokens are refused rather than old ones forgotten (which would make them
// reusable).
const maxUsedTokens = 100_000

type tokenClaims struct {
	room    string
	expiry  time.Time
	host    bool
	nonce   string
	oneTime bool
}

// tokens mints and checks invite tokens and remembers used one-time ones.
type tokens struct {
	secret []byte

	mu   sync.Mutex
	used map[string]time.Time // nonce → expiry
}

func newTokens(secret []byte) (*tokens, error) {
	if len(secret) == 0 {
		secret = make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, fmt.Errorf("token secret: %w", err)
		}
	} else if len(secret) < 16 {
		return nil, errors.New("token secret: shorter than 16 bytes")
	}
	return &tokens{secret: secret, used: make(map[string]time.Time)}, nil
}

func (ts *tokens) sign(payload []byte) []byte {
	mac := hmac.New(sha256.New, ts.secret)
	mac.Write(payload)
	return mac.Sum(nil)
}

func (ts *tokens) mint(room string, opts TokenOptions, now time.Time) (string, error) {
	if err := signal.ValidateRoomName(room); err != nil {
		return "", fmt.Errorf("mint token: %w", err)
	}
	ttl := opts.TTL
	if ttl <= 0 {
		ttl = DefaultTokenTTL
	}
	role := "g"
	if opts.Host {
		role = "h"
	}
	nonce := ""
	if opts.OneTime {
		var b [12]byte
		_, _ = rand.Read(b[:]) // never fails since Go 1.24
		nonce = hex.EncodeToString(b[:])
	}
	// Expiry is rounded up to the second: a token never expires early.
	exp := now.Add(ttl + time.Second - 1).Unix()
	payload := []byte("1|" + room + "|" + strconv.FormatInt(exp, 10) + "|" + role + "|" + nonce)
	enc := base64.RawURLEncoding
	tok := enc.EncodeToString(payload) + "." + enc.EncodeToString(ts.sign(payload))
	if len(tok) > signal.MaxTokenBytes {
		return "", fmt.Errorf("mint token: %d bytes, over the protocol's %d", len(tok), signal.MaxTokenBytes)
	}
	return tok, nil
}

// check verifies a token for room at now. A valid one-time token is
// marked used at once (so two hellos racing with it cannot both pass);
// release un-marks it if the join then fails for another reason.
func (ts *tokens) check(token, room string, now time.Time) (c tokenClaims, release func(), err error) {
	release = func() {}
	bad := func(why string) (tokenClaims, func(), error) {
		return tokenClaims{}, release, signal.Errorf(signal.CodeBadToken, "invalid invite token: %s", why)
	}
	p64, s64, ok := strings.Cut(token, ".")
	// Strict: one token has one spelling (lenient base64 also takes the
	// last character with other unused bits).
	enc := base64.RawURLEncoding.Strict()
	payload, err1 := enc.DecodeString(p64)
	sig, err2 := enc.DecodeString(s64)
	if !ok || err1 != nil || err2 != nil {
		return bad("malformed")
	}
	if !hmac.Equal(sig, ts.sign(payload)) {
		return bad("not signed by this host")
	}
	f := strings.Split(string(payload), "|")
	if len(f) != 5 || f[0] != "1" {
		return bad("unknown format")
	}
	exp, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil {
		return bad("malformed expiry")
	}
	c = tokenClaims{room: f[1], expiry: time.Unix(exp, 0), host: f[3] == "h", nonce: f[4], oneTime: f[4] != ""}
	if c.room != room {
		return bad("it is for another room")
	}
	if !now.Before(c.expiry) {
		return tokenClaims{}, release, signal.Errorf(signal.CodeTokenExpired, "the invite token expired at %s; ask the host for a new link", c.expiry.UTC().Format(time.RFC3339))
	}
	if !c.oneTime {
		return c, release, nil
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if _, used := ts.used[c.nonce]; used {
		return tokenClaims{}, release, signal.Errorf(signal.CodeTokenUsed, "the one-time invite token was already used; ask the host for a new link")
	}
	if len(ts.used) >= maxUsedTokens {
		return tokenClaims{}, release, signal.Errorf(signal.CodeRateLimited, "too many one-time tokens in use; try again later")
	}
	ts.used[c.nonce] = c.expiry
	release = func() {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		delete(ts.used, c.nonce)
	}
	return c, release, nil
}

// prune forgets used one-time tokens that have expired anyway.
func (ts *tokens) prune(now time.Time) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for n, exp := range ts.used {
		if !now.Before(exp) {
			delete(ts.used, n)
		}
	}
}

// MintToken returns an invite token for room (see TokenOptions).
func (s *Server) MintToken(room string, opts TokenOptions) (string, error) {
	return s.tokens.mint(room, opts, time.Now())
}

// TokenInviteURL is InviteURL with a freshly minted token in its
// fragment (…#fp=…&t=TOKEN): like the fingerprint, the token never
// reaches a server log or a Referer header; the page or client reads it
// and sends it in hello.
func (s *Server) TokenInviteURL(room string, opts TokenOptions) (string, error) {
	tok, err := s.MintToken(room, opts)
	if err != nil {
		return "", err
	}
	u := s.InviteURL(room)
	if strings.Contains(u, "#") {
		return u + "&t=" + tok, nil
	}
	return u + "#t=" + tok, nil
}

// tokenSecretFile holds the invite-token secret, base64, beside the host
// certificate.
const tokenSecretFile = "token-secret"

// LoadOrCreateTokenSecret returns the invite-token secret kept in dir,
// creating it (32 random bytes, readable by its owner only) on first use,
// so that invite links outlive a restart of the server.
func LoadOrCreateTokenSecret(dir string) ([]byte, error) {
	path := filepath.Join(dir, tokenSecretFile)
	secret, err := readTokenSecret(path)
	if !errors.Is(err, os.ErrNotExist) {
		return secret, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	secret = make([]byte, 32)
	_, _ = rand.Read(secret) // never fails since Go 1.24
	// O_EXCL: of two servers starting at once, one writes and the other
	// reads what it wrote.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return readTokenSecret(path)
	}
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	_, err = f.WriteString(base64.StdEncoding.EncodeToString(secret) + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return secret, nil
}

func readTokenSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read invite-token secret: %w", err)
	}
	secret, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(secret) < 16 {
		return nil, fmt.Errorf("invite-token secret %s is damaged (delete it to make a new one; old invite links then stop working)", path)
	}
	return secret, nil
}
