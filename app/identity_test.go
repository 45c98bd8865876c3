package app

import (
	"os"
	"path/filepath"
	"testing"

	"parley/testing/meetingtest"
)

// The app's device id is made once and kept in the config dir; a damaged
// file gets a new one; without a config dir each run has its own.
func TestDeviceIDKept(t *testing.T) {
	log := meetingtest.Logger()
	dir := t.TempDir()
	first := deviceID(dir, log)
	if len(first) < 16 {
		t.Fatalf("device id %q", first)
	}
	if again := deviceID(dir, log); again != first {
		t.Errorf("second run: %q, want the kept %q", again, first)
	}
	if err := os.WriteFile(filepath.Join(dir, identityFile), []byte(`{"device":"a b"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if fixed := deviceID(dir, log); fixed == first || fixed == "a b" || deviceID(dir, log) != fixed {
		t.Errorf("after damage: %q, want a new id, kept", fixed)
	}
	if deviceID("", log) == deviceID("", log) {
		t.Error("two runs without a config dir share a device id")
	}
}
