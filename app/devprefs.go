package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
)

// devicePrefs are the devices the user picked, remembered across runs.
// Ids only: a remembered device that is missing when a meeting starts
// means the default one (never an error).
type devicePrefs struct {
	Camera  string `json:"camera,omitempty"`
	Mic     string `json:"mic,omitempty"`
	Speaker string `json:"speaker,omitempty"`
}

const prefsFile = "devices.json"

// loadPrefs reads dir/devices.json; a missing, unreadable or corrupt file
// is no choice at all.
func loadPrefs(dir string, log *slog.Logger) devicePrefs {
	var p devicePrefs
	if dir == "" {
		return p
	}
	data, err := os.ReadFile(filepath.Join(dir, prefsFile))
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			log.Warn("device choice not read; using the defaults", "err", err)
		}
		return p
	}
	if err := json.Unmarshal(data, &p); err != nil {
		log.Warn("device choice unreadable; using the defaults", "file", filepath.Join(dir, prefsFile), "err", err)
		return devicePrefs{}
	}
	return p
}

// savePrefs writes dir/devices.json atomically.
func savePrefs(dir string, p devicePrefs) error {
	if dir == "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("remember devices: %w", err)
	}
	return writeJSONFile(filepath.Join(dir, prefsFile), p)
}

// set records kind's choice ("videoinput", "audioinput", "audiooutput").
func (p *devicePrefs) set(kind, id string) error {
	switch kind {
	case "videoinput":
		p.Camera = id
	case "audioinput":
		p.Mic = id
	case "audiooutput":
		p.Speaker = id
	default:
		return fmt.Errorf("select device: unknown kind %q", kind)
	}
	return nil
}
