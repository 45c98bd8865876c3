package main

import (
	"flag"
	"fmt"

	"parley/backend/server"
)

// turnFlags are the embedded TURN relay's flags, the same for `parley
// serve` and a window that hosts.
type turnFlags struct {
	port    *int
	relayIP *string
}

func addTURNFlags(fset *flag.FlagSet, prefix string) *turnFlags {
	return &turnFlags{
		port: fset.Int("turn-port", 0, prefix+"run the TURN relay on UDP and TCP `PORT` (3478 is standard; forward both to this machine); 0: no relay"),
		relayIP: fset.String("turn-relay-ip", "", prefix+"local `IP` to open relay sockets on (default: this machine's LAN address); "+
			"clients reach the relay at the invite link's host"),
	}
}

// config is the relay the flags ask for; nil for none.
func (f *turnFlags) config() (*server.TURNConfig, error) {
	if *f.port < 0 || *f.port > 65535 {
		return nil, fmt.Errorf("--turn-port must be 0 to 65535")
	}
	if *f.port == 0 {
		if *f.relayIP != "" {
			return nil, fmt.Errorf("--turn-relay-ip needs --turn-port")
		}
		return nil, nil
	}
	return &server.TURNConfig{Port: *f.port, RelayIP: *f.relayIP}, nil
}
