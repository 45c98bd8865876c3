package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

const mdnsPort = 5353

var (
	mdnsGroup4 = netip.MustParseAddr("224.0.0.251")
	mdnsGroup6 = netip.MustParseAddr("ff02::fb")
)

// maxPacket is the largest mDNS message (RFC 6762 §17); anything bigger is
// not mDNS and is dropped rather than parsed.
const maxPacket = 9000

// packet is one received mDNS message with where it came from.
type packet struct {
	msg     *dns.Msg
	ifIndex int
	src     netip.AddrPort
	v6      bool
}

// mconn is a pair of UDP sockets (IPv4 and IPv6) on port 5353 that joined
// the mDNS groups on a set of interfaces. Either family may be missing
// (no IPv6 on the link, say); not both.
type mconn struct {
	log    *slog.Logger
	ifaces map[int]net.Interface
	v4     *ipv4.PacketConn
	v6     *ipv6.PacketConn

	// sendMu serialises "choose interface, send": the outgoing interface
	// is socket state, so two sends must not interleave.
	sendMu    sync.Mutex
	closeOnce sync.Once
}

// listenMulticast opens the sockets and joins the mDNS groups on ifaces.
func listenMulticast(ctx context.Context, ifaces []net.Interface, log *slog.Logger) (*mconn, error) {
	if len(ifaces) == 0 {
		return nil, errors.New("no network interface to use")
	}
	c := &mconn{log: log, ifaces: make(map[int]net.Interface, len(ifaces))}
	for _, ifi := range ifaces {
		c.ifaces[ifi.Index] = ifi
	}
	var err4, err6 error
	c.v4, err4 = listen4(ctx, ifaces)
	c.v6, err6 = listen6(ctx, ifaces)
	switch {
	case err4 != nil && err6 != nil:
		return nil, fmt.Errorf("mDNS: %w", errors.Join(err4, err6))
	case err4 != nil:
		log.Debug("mDNS over IPv4 unavailable", "err", err4)
	case err6 != nil:
		log.Debug("mDNS over IPv6 unavailable", "err", err6)
	}
	return c, nil
}

func listen4(ctx context.Context, ifaces []net.Interface) (*ipv4.PacketConn, error) {
	lc := net.ListenConfig{Control: reuseAddrPort}
	pc, err := lc.ListenPacket(ctx, "udp4", fmt.Sprintf("0.0.0.0:%d", mdnsPort))
	if err != nil {
		return nil, fmt.Errorf("listen on udp4 port %d: %w", mdnsPort, err)
	}
	p := ipv4.NewPacketConn(pc)
	if err := joinGroup(p, mdnsGroup4, ifaces); err != nil {
		p.Close()
		return nil, err
	}
	// Interface and destination let us drop packets from other
	// interfaces and unicast packets; TTL 255 is what RFC 6762 §11 asks
	// senders to use; loopback lets apps on this machine see our rooms.
	if err := errors.Join(
		p.SetControlMessage(ipv4.FlagInterface|ipv4.FlagDst, true),
		p.SetMulticastTTL(255),
		p.SetMulticastLoopback(true),
	); err != nil {
		p.Close()
		return nil, fmt.Errorf("configure udp4 socket: %w", err)
	}
	return p, nil
}

func listen6(ctx context.Context, ifaces []net.Interface) (*ipv6.PacketConn, error) {
	lc := net.ListenConfig{Control: reuseAddrPort}
	pc, err := lc.ListenPacket(ctx, "udp6", fmt.Sprintf("[::]:%d", mdnsPort))
	if err != nil {
		return nil, fmt.Errorf("listen on udp6 port %d: %w", mdnsPort, err)
	}
	p := ipv6.NewPacketConn(pc)
	if err := joinGroup(p, mdnsGroup6, ifaces); err != nil {
		p.Close()
		return nil, err
	}
	if err := errors.Join(
		p.SetControlMessage(ipv6.FlagInterface|ipv6.FlagDst, true),
		p.SetMulticastHopLimit(255),
		p.SetMulticastLoopback(true),
	); err != nil {
		p.Close()
		return nil, fmt.Errorf("configure udp6 socket: %w", err)
	}
	return p, nil
}

// joinGroup joins the mDNS group on every interface it can; a host with
// one multicast-capable interface among several is normal, so only failing
// on all of them is an error.
func joinGroup(p interface {
	JoinGroup(*net.Interface, net.Addr) error
}, group netip.Addr, ifaces []net.Interface) error {
	addr := &net.UDPAddr{IP: group.AsSlice()}
	var errs []error
	for i := range ifaces {
		if err := p.JoinGroup(&ifaces[i], addr); err != nil {
			errs = append(errs, fmt.Errorf("join %v on %s: %w", group, ifaces[i].Name, err))
		}
	}
	if len(ifaces) == 0 {
		return fmt.Errorf("join %v: no interface", group)
	}
	if len(errs) == len(ifaces) {
		return errors.Join(errs...)
	}
	return nil
}

// run reads both sockets and delivers parsed messages to out until the
// sockets are closed or ctx is done. It returns when both readers stopped.
func (c *mconn) run(ctx context.Context, out chan<- packet) {
	var wg sync.WaitGroup
	if c.v4 != nil {
		wg.Go(func() {
			c.readLoop(ctx, out, false, func(b []byte) (int, int, net.IP, net.Addr, error) {
				n, cm, src, err := c.v4.ReadFrom(b)
				if cm == nil {
					return n, 0, nil, src, err
				}
				return n, cm.IfIndex, cm.Dst, src, err
			})
		})
	}
	if c.v6 != nil {
		wg.Go(func() {
			c.readLoop(ctx, out, true, func(b []byte) (int, int, net.IP, net.Addr, error) {
				n, cm, src, err := c.v6.ReadFrom(b)
				if cm == nil {
					return n, 0, nil, src, err
				}
				return n, cm.IfIndex, cm.Dst, src, err
			})
		})
	}
	wg.Wait()
}

type readFunc func(b []byte) (n, ifIndex int, dst net.IP, src net.Addr, err error)

func (c *mconn) readLoop(ctx context.Context, out chan<- packet, v6 bool, read readFunc) {
	buf := make([]byte, maxPacket+1)
	group := mdnsGroup4
	if v6 {
		group = mdnsGroup6
	}
	for {
		n, ifIndex, dst, src, err := read(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || ctx.Err() != nil {
				return
			}
			c.log.Debug("mDNS read failed", "err", err)
			// Do not spin if the error persists.
			select {
			case <-ctx.Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
			continue
		}
		if ifIndex == 0 && len(c.ifaces) == 1 {
			// Platforms without per-packet interface information; with
			// one interface there is no doubt.
			for idx := range c.ifaces {
				ifIndex = idx
			}
		}
		if _, ok := c.ifaces[ifIndex]; !ok {
			// Another socket on this machine joined the group on an
			// interface we were not asked to use.
			continue
		}
		if d, ok := netip.AddrFromSlice(dst); dst != nil && (!ok || d.Unmap() != group) {
			// Only multicast: routers do not forward it, so the sender is
			// on the link (RFC 6762 §11), and we never asked for unicast.
			continue
		}
		if n > maxPacket {
			continue
		}
		msg, err := unpack(buf[:n])
		if err != nil {
			c.log.Debug("dropping malformed mDNS packet", "from", src, "err", err)
			continue
		}
		var from netip.AddrPort
		if ua, ok := src.(*net.UDPAddr); ok {
			from = ua.AddrPort()
		}
		select {
		case out <- packet{msg: msg, ifIndex: ifIndex, src: from, v6: v6}:
		case <-ctx.Done():
			return
		}
	}
}

// unpack parses an untrusted packet. The parser has been fuzzed upstream,
// but a panic here would let any host on the LAN kill the app, so one is
// turned into an error.
func unpack(b []byte) (msg *dns.Msg, err error) {
	defer func() {
		if r := recover(); r != nil {
			msg, err = nil, fmt.Errorf("dns parser panicked: %v", r)
		}
	}()
	msg = new(dns.Msg)
	if err := msg.Unpack(b); err != nil {
		return nil, err
	}
	return msg, nil
}

// sendMulticast sends msg to the mDNS group of one family on one interface.
func (c *mconn) sendMulticast(msg *dns.Msg, ifIndex int, v6 bool) error {
	ifi, ok := c.ifaces[ifIndex]
	if !ok {
		return fmt.Errorf("interface %d is not in use", ifIndex)
	}
	b, err := msg.Pack()
	if err != nil {
		return fmt.Errorf("pack mDNS message: %w", err)
	}
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	if v6 {
		if c.v6 == nil {
			return nil
		}
		if err := c.v6.SetMulticastInterface(&ifi); err != nil {
			return fmt.Errorf("select %s for IPv6 multicast: %w", ifi.Name, err)
		}
		if _, err := c.v6.WriteTo(b, nil, &net.UDPAddr{IP: mdnsGroup6.AsSlice(), Port: mdnsPort}); err != nil {
			return fmt.Errorf("send mDNS on %s (IPv6): %w", ifi.Name, err)
		}
		return nil
	}
	if c.v4 == nil {
		return nil
	}
	if err := c.v4.SetMulticastInterface(&ifi); err != nil {
		return fmt.Errorf("select %s for IPv4 multicast: %w", ifi.Name, err)
	}
	if _, err := c.v4.WriteTo(b, nil, &net.UDPAddr{IP: mdnsGroup4.AsSlice(), Port: mdnsPort}); err != nil {
		return fmt.Errorf("send mDNS on %s (IPv4): %w", ifi.Name, err)
	}
	return nil
}

// sendAll sends msg on every interface in both families, logging failures:
// one unplugged interface must not stop the others.
func (c *mconn) sendAll(msg *dns.Msg) {
	for idx := range c.ifaces {
		for _, v6 := range []bool{false, true} {
			if err := c.sendMulticast(msg, idx, v6); err != nil {
				c.log.Debug("mDNS send failed", "err", err)
			}
		}
	}
}

// sendAllPerInterface sends, on every interface and family, the message
// build makes from that interface's addresses.
func (c *mconn) sendAllPerInterface(build func(addrs []netip.Addr) *dns.Msg) {
	for idx, ifi := range c.ifaces {
		msg := build(interfaceAddrs(ifi))
		for _, v6 := range []bool{false, true} {
			if err := c.sendMulticast(msg, idx, v6); err != nil {
				c.log.Debug("mDNS send failed", "err", err)
			}
		}
	}
}

// sendUnicast answers a legacy (non-5353 port) querier directly.
func (c *mconn) sendUnicast(msg *dns.Msg, dst netip.AddrPort, v6 bool) error {
	b, err := msg.Pack()
	if err != nil {
		return fmt.Errorf("pack mDNS message: %w", err)
	}
	to := net.UDPAddrFromAddrPort(dst)
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	if v6 && c.v6 != nil {
		_, err = c.v6.WriteTo(b, nil, to)
	} else if !v6 && c.v4 != nil {
		_, err = c.v4.WriteTo(b, nil, to)
	}
	if err != nil {
		return fmt.Errorf("send unicast mDNS answer to %v: %w", dst, err)
	}
	return nil
}

// close closes both sockets, which ends run's readers.
func (c *mconn) close() {
	c.closeOnce.Do(func() {
		if c.v4 != nil {
			c.v4.Close()
		}
		if c.v6 != nil {
			c.v6.Close()
		}
	})
}
