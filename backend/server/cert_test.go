package server

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadOrCreateCertIsPersistent(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "parley")
	first, err := LoadOrCreateCert(dir)
	if err != nil {
		t.Fatal(err)
	}
	second, err := LoadOrCreateCert(dir)
	if err != nil {
		t.Fatal(err)
	}
	fp1, fp2 := Fingerprint(first.Certificate[0]), Fingerprint(second.Certificate[0])
	if fp1 != fp2 {
		t.Errorf("fingerprint changed between runs: %s then %s", fp1, fp2)
	}
	if !strings.HasPrefix(fp1, "sha256:") || len(fp1) != len("sha256:")+64 {
		t.Errorf("fingerprint %q is not sha256:<64 hex>", fp1)
	}
	info, err := os.Stat(filepath.Join(dir, "key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("key.pem mode %o, want 600", perm)
	}
	leaf, err := x509.ParseCertificate(first.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := leaf.VerifyHostname("127.0.0.1"); err != nil {
		t.Errorf("certificate does not cover loopback: %v", err)
	}
}

func TestLoadOrCreateCertRejectsDamagedFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "key.pem"), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateCert(dir); err == nil {
		t.Fatal("damaged certificate files were accepted")
	}
}
