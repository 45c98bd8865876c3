package app

import (
	"net"
	"strconv"
)

// hostPortFile remembers the port of the last meeting this app hosted.
const hostPortFile = "host.json"

type hostPortPref struct {
	Port int `json:"port"`
}

// rememberedHostAddr is addr with the last hosted meeting's port, when addr
// leaves the port to the system (port 0) and a port is remembered.
func (a *App) rememberedHostAddr(addr string) (string, bool) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port != "0" {
		return "", false
	}
	a.mu.Lock()
	last := a.hostPort
	a.mu.Unlock()
	if last <= 0 || last > 65535 {
		return "", false
	}
	return net.JoinHostPort(host, strconv.Itoa(last)), true
}

// rememberHostPort keeps port for the next meeting hosted, in this run and
// (with a config dir) in later ones.
func (a *App) rememberHostPort(port int) {
	a.mu.Lock()
	changed := a.hostPort != port
	a.hostPort = port
	a.mu.Unlock()
	if !changed {
		return
	}
	if err := saveJSONPref(a.opts.ConfigDir, hostPortFile, hostPortPref{Port: port}); err != nil {
		a.opts.Log.Warn("the meeting's port is not remembered: hosting again will make a new invite link", "err", err)
	}
}
