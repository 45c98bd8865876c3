package server

import (
	"os"
	"path/filepath"
	"testing"
)

func TestEphemeralPorts(t *testing.T) {
	def := portRange{32768, 60999}
	for _, c := range []struct {
		name, text string
		want       portRange
	}{
		{"kernel format", "32768\t60999\n", portRange{32768, 60999}},
		{"narrowed", "40000 40100", portRange{40000, 40100}},
		{"reversed", "60999 32768", def},
		{"garbage", "lots of ports", def},
		{"out of range", "0 70000", def},
	} {
		t.Run(c.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "range")
			if err := os.WriteFile(file, []byte(c.text), 0o644); err != nil {
				t.Fatal(err)
			}
			if got := ephemeralPorts(file); got != c.want {
				t.Errorf("ephemeralPorts(%q) = %v, want %v", c.text, got, c.want)
			}
		})
	}
	if got := ephemeralPorts(filepath.Join(t.TempDir(), "missing")); got != def {
		t.Errorf("no file: %v, want Linux's default %v", got, def)
	}
	if got := mediaPorts(50000, 50100); got != (portRange{50000, 50100}) {
		t.Errorf("configured ICE range: %v", got)
	}
}
