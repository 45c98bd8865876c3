package server

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/pion/turn/v5"
)

// TURN permissions name peer IPs only (RFC 8656), and every peer the relay
// may reach is this host. Without more, a participant could send through
// the relay to any UDP service of the host, or open TCP connections to it
// (RFC 6062 allocations). The SFU's media sockets are UDP ports in a known
// range (the configured ICE range, or the kernel's ephemeral range that
// port-0 binds draw from), so the relay offers UDP only and drops what is
// addressed to other ports.

// errNoTCPRelay refuses RFC 6062 TCP allocations: the SFU takes none.
var errNoTCPRelay = errors.New("turn: this relay carries UDP only")

// portRange is an inclusive range of UDP ports.
type portRange struct{ min, max int }

func (r portRange) has(port int) bool { return port >= r.min && port <= r.max }

// mediaPorts is where the SFU's ICE sockets can be: the configured range,
// else the kernel's ephemeral range.
func mediaPorts(min, max uint16) portRange {
	if min != 0 && max != 0 {
		return portRange{int(min), int(max)}
	}
	return ephemeralPorts("/proc/sys/net/ipv4/ip_local_port_range")
}

// ephemeralPorts reads the kernel's ephemeral port range from file; Linux's
// default when it cannot.
func ephemeralPorts(file string) portRange {
	def := portRange{32768, 60999}
	data, err := os.ReadFile(file)
	if err != nil {
		return def
	}
	f := strings.Fields(string(data))
	if len(f) != 2 {
		return def
	}
	lo, err1 := strconv.Atoi(f[0])
	hi, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil || lo < 1 || hi > 65535 || lo > hi {
		return def
	}
	return portRange{lo, hi}
}

// mediaRelay allocates UDP relay sockets that reach only the media ports,
// never the TURN server's own port.
type mediaRelay struct {
	turn.RelayAddressGenerator
	ports    portRange
	turnPort int
}

func (m *mediaRelay) allowed(addr net.Addr) bool {
	ua, ok := addr.(*net.UDPAddr)
	return ok && ua.Port != m.turnPort && m.ports.has(ua.Port)
}

func (m *mediaRelay) AllocatePacketConn(conf turn.AllocateListenerConfig) (net.PacketConn, net.Addr, error) {
	pc, addr, err := m.RelayAddressGenerator.AllocatePacketConn(conf)
	if err != nil {
		return nil, nil, err
	}
	return &mediaOnlyConn{PacketConn: pc, allowed: m.allowed}, addr, nil
}

func (m *mediaRelay) AllocateListener(turn.AllocateListenerConfig) (net.Listener, net.Addr, error) {
	return nil, nil, errNoTCPRelay
}

func (m *mediaRelay) AllocateConn(turn.AllocateConnConfig) (net.Conn, error) {
	return nil, errNoTCPRelay
}

// mediaOnlyConn is a relay socket that silently drops datagrams to ports
// other than the media ports, as a firewall would.
type mediaOnlyConn struct {
	net.PacketConn
	allowed func(net.Addr) bool
}

func (c *mediaOnlyConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if !c.allowed(addr) {
		return len(p), nil
	}
	n, err := c.PacketConn.WriteTo(p, addr)
	if err != nil {
		return n, fmt.Errorf("relay to %s: %w", addr, err)
	}
	return n, nil
}
