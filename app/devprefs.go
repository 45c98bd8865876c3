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
	return loadJSONPref[devicePrefs](dir, prefsFile, log)
}

// savePrefs writes dir/devices.json atomically.
func savePrefs(dir string, p devicePrefs) error {
	if err := saveJSONPref(dir, prefsFile, p); err != nil {
		return fmt.Errorf("remember devices: %w", err)
	}
	return nil
}

// loadJSONPref reads dir/name. Something remembered is a convenience:
// when the file is missing, unreadable or corrupt, it is the zero value
// and the app goes on with its defaults.
func loadJSONPref[T any](dir, name string, log *slog.Logger) T {
	var v T
	if dir == "" {
		return v
	}
	path := filepath.Join(dir, name)
	data, err := os.ReadFile(path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			log.Warn("remembered settings not read; using the defaults", "file", path, "err", err)
		}
		return v
	}
	if err := json.Unmarshal(data, &v); err != nil {
		log.Warn("remembered settings unreadable; using the defaults", "file", path, "err", err)
		var zero T
		return zero
	}
	return v
}

// saveJSONPref writes v to dir/name atomically ("" dir: nothing is kept).
func saveJSONPref(dir, name string, v any) error {
	if dir == "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return writeJSONFile(filepath.Join(dir, name), v)
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
