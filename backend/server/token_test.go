package server

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"parley/backend/signal"
)

// TestTokenSecretOutlivesRestart: a token minted with the secret kept in
// a config directory is still accepted by the next server that loads the
// secret from there; one minted with another secret is not.
func TestTokenSecretOutlivesRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "parley")
	first, err := LoadOrCreateTokenSecret(dir)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dir, tokenSecretFile))
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("%s mode %o, want 600", tokenSecretFile, perm)
	}
	before, err := newTokens(first)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tok, err := before.mint("standup", TokenOptions{TTL: time.Hour}, now)
	if err != nil {
		t.Fatal(err)
	}

	second, err := LoadOrCreateTokenSecret(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, second) {
		t.Fatal("the secret changed between runs")
	}
	after, err := newTokens(second)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := after.check(tok, "standup", now); err != nil {
		t.Errorf("token from before the restart refused: %v", err)
	}
	stranger, err := newTokens(nil)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := stranger.mint("standup", TokenOptions{TTL: time.Hour}, now)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = after.check(forged, "standup", now)
	if signal.CodeOf(err) != signal.CodeBadToken {
		t.Errorf("token signed with another secret: %v, want %s", err, signal.CodeBadToken)
	}
}

func TestTokenSecretRejectsDamagedFile(t *testing.T) {
	for name, content := range map[string]string{"not base64": "%%%\n", "too short": "c2hvcnQ=\n"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, tokenSecretFile), []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := LoadOrCreateTokenSecret(dir); err == nil || errors.Is(err, os.ErrNotExist) {
				t.Fatalf("damaged secret: %v, want an error", err)
			}
			b, _ := os.ReadFile(filepath.Join(dir, tokenSecretFile))
			if string(b) != content {
				t.Fatal("the damaged secret was overwritten: old links would silently die")
			}
		})
	}
}
