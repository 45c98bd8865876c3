package server_test

import (
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"parley/backend/client"
	"parley/backend/server"
	"parley/backend/signal"
	"parley/testing/meetingtest"
)

func TestTLSPinningAndMetrics(t *testing.T) {
	cert, err := server.LoadOrCreateCert(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv := meetingtest.StartServer(t, server.Config{Certificate: &cert})
	invite := srv.InviteURL("test")
	if !strings.HasPrefix(invite, "https://127.0.0.1:") || !strings.Contains(invite, "/r/test#fp=sha256:") {
		t.Fatalf("invite %q is not https://127.0.0.1:PORT/r/test#fp=sha256:…", invite)
	}

	ada := meetingtest.Join(t, invite, "Ada", client.Options{})
	meetingtest.Publish(t, ada, media)
	bob := meetingtest.Join(t, invite, "Bob", client.Options{})
	if !meetingtest.WaitFor(5*time.Second, func() bool { return meetingtest.Received(bob)[ada.ID()][signal.KindVideo] > 10 }) {
		t.Fatal("no media over the pinned TLS connection")
	}

	t.Run("wrong fingerprint", func(t *testing.T) {
		forged := invite[:strings.Index(invite, "#")] + "#fp=sha256:" + strings.Repeat("0", 64)
		_, err := meetingtest.TryJoin(forged, "Eve", client.Options{})
		if !errors.Is(err, client.ErrIdentityChanged) {
			t.Fatalf("joining with a wrong pin: %v, want ErrIdentityChanged", err)
		}
	})
	t.Run("no fingerprint, self-signed", func(t *testing.T) {
		bare := invite[:strings.Index(invite, "#")]
		if _, err := meetingtest.TryJoin(bare, "Eve", client.Options{}); err == nil {
			t.Fatal("a self-signed certificate was trusted without a pin")
		}
		c, err := meetingtest.TryJoin(bare, "Eve", client.Options{Insecure: true})
		if err != nil {
			t.Fatalf("--insecure join: %v", err)
		}
		_ = c.Close()
	})

	t.Run("metrics", func(t *testing.T) {
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
		resp, err := hc.Get(srv.URL() + "metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for name, min := range map[string]float64{
			"parley_rooms": 1, "parley_participants": 2, "parley_tracks": 2,
			"parley_packets_forwarded_total": 20, "parley_bytes_forwarded_total": 5000,
		} {
			m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindSubmatch(body)
			if m == nil {
				t.Errorf("metric %s missing", name)
				continue
			}
			if v, _ := strconv.ParseFloat(string(m[1]), 64); v < min {
				t.Errorf("%s = %v, want ≥ %v", name, v, min)
			}
		}
	})
}
