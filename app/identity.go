package app

import (
	"crypto/rand"
	"encoding/base64"
	"log/slog"

	"parley/backend/signal"
)

// identityFile keeps this app's device id (hello.device): with it a host's
// removal holds against this app, which comes back only if a host admits
// it.
const identityFile = "identity.json"

type identity struct {
	Device string `json:"device"`
}

// deviceID is the id kept in dir, or a new one, kept there (without a
// dir: new for this run).
func deviceID(dir string, log *slog.Logger) string {
	id := loadJSONPref[identity](dir, identityFile, log)
	if len(id.Device) >= 16 && signal.ValidateID("device", id.Device) == nil {
		return id.Device
	}
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails since Go 1.24
	id.Device = base64.RawURLEncoding.EncodeToString(b[:])
	if err := saveJSONPref(dir, identityFile, id); err != nil {
		log.Warn("this app's device id is not kept: a removal from a meeting will not hold after a restart", "err", err)
	}
	return id.Device
}
