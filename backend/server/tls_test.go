package server_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
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
		if _, err := meetingtest.TryJoin(bare, "Eve", client.Options{}); !errors.Is(err, client.ErrUntrusted) {
			t.Fatalf("joining without a pin: %v, want ErrUntrusted (a self-signed certificate must not be trusted)", err)
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

// testCA makes a certificate authority and a leaf it signed for loopback,
// with the chain as a server presents it.
func testCA(t *testing.T) (*x509.CertPool, tls.Certificate) {
	t.Helper()
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	caKey, leafKey := newKey(), newKey()
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "meet.example.test"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	return roots, tls.Certificate{Certificate: [][]byte{leafDER, caDER}, PrivateKey: leafKey}
}

// TestCASignedCertificateIsNotPinned: a certificate from a CA is renewed
// every few months, so links to a server using one carry no fingerprint
// (clients check the CA instead); a self-signed one is pinned.
func TestCASignedCertificateIsNotPinned(t *testing.T) {
	roots, signed := testCA(t)
	self, err := server.LoadOrCreateCert(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if !server.ChainsToCA(signed, roots) {
		t.Error("a CA-signed certificate is not recognised")
	}
	if server.ChainsToCA(self, roots) || server.ChainsToCA(self, nil) {
		t.Error("a self-signed certificate counts as CA-signed")
	}
	srv := meetingtest.StartServer(t, server.Config{Certificate: &signed, CASigned: true})
	if invite := srv.InviteURL("test"); strings.Contains(invite, "fp=") || !strings.HasPrefix(invite, "https://") {
		t.Errorf("invite %q to a CA-signed server: want https and no fingerprint", invite)
	}
	withToken, err := srv.TokenInviteURL("test", server.TokenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(withToken, "/r/test#t=") {
		t.Errorf("token link %q: want the token alone in the fragment", withToken)
	}
	// The page is served with that certificate, checked by its CA.
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}}
	resp, err := hc.Get(srv.URL() + "healthz")
	if err != nil {
		t.Fatalf("healthz with CA verification: %v", err)
	}
	_ = resp.Body.Close()
}
