package discovery

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// DefaultInterfaces returns the interfaces discovery uses when the user
// chose none: up, multicast-capable and not loopback (a room advertised on
// loopback could only be joined from this machine, which finds its own
// rooms through multicast loopback on the real interfaces anyway).
func DefaultInterfaces() ([]net.Interface, error) {
	all, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("list network interfaces: %w", err)
	}
	var out []net.Interface
	for _, ifi := range all {
		if usableInterface(ifi) == nil {
			out = append(out, ifi)
		}
	}
	return out, nil
}

// InterfacesByName resolves names given with --iface. Each entry may be a
// comma-separated list; duplicates are dropped. An unknown, down,
// loopback or non-multicast interface is an error that says which and why.
func InterfacesByName(names []string) ([]net.Interface, error) {
	var out []net.Interface
	seen := make(map[string]bool)
	for _, list := range names {
		for name := range strings.SplitSeq(list, ",") {
			name = strings.TrimSpace(name)
			if name == "" || seen[name] {
				continue
			}
			seen[name] = true
			ifi, err := net.InterfaceByName(name)
			if err != nil {
				return nil, fmt.Errorf("network interface %q: %w", name, unknownInterface(err))
			}
			if err := usableInterface(*ifi); err != nil {
				return nil, fmt.Errorf("network interface %q: %w", name, err)
			}
			out = append(out, *ifi)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no network interface named")
	}
	return out, nil
}

// unknownInterface replaces the standard library's "no such network
// interface" wording with one that suggests what to do.
func unknownInterface(err error) error {
	var names []string
	if all, lerr := net.Interfaces(); lerr == nil {
		for _, ifi := range all {
			if usableInterface(ifi) == nil {
				names = append(names, ifi.Name)
			}
		}
	}
	if len(names) == 0 {
		return fmt.Errorf("%w (no usable interface is up)", err)
	}
	return fmt.Errorf("%w (usable: %s)", err, strings.Join(names, ", "))
}

// usableInterface says why discovery cannot use ifi, or returns nil.
func usableInterface(ifi net.Interface) error {
	switch {
	case ifi.Flags&net.FlagUp == 0:
		return errors.New("interface is down")
	case ifi.Flags&net.FlagLoopback != 0:
		return errors.New("interface is loopback")
	case ifi.Flags&net.FlagMulticast == 0:
		return errors.New("interface does not support multicast")
	}
	return nil
}

// interfaceAddrs returns the addresses to advertise on ifi: every IPv4 and
// IPv6 unicast address except loopback. Link-local IPv6 addresses are
// included (a peer on the link can use them) but rank last for URLs.
func interfaceAddrs(ifi net.Interface) []netip.Addr {
	addrs, err := ifi.Addrs()
	if err != nil {
		return nil
	}
	var out []netip.Addr
	for _, a := range addrs {
		ipnet, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(ipnet.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		if usableAddr(ip) {
			out = append(out, ip)
		}
	}
	return out
}
