// Package discovery finds Parley meetings on the local network with
// multicast DNS service discovery (mDNS/DNS-SD, RFC 6762 and RFC 6763).
//
// A host calls Advertise for each room it serves; every copy of the app calls
// Browse to keep a live list of the rooms on its links. Nothing is
// configured: no server, no account, no address to type.
//
// # Records
//
// A room is the DNS-SD instance "<name>._parley._tcp.local." with
//
//   - PTR _parley._tcp.local. → the instance (how browsers find it),
//   - SRV → a host name of the advertiser's own, "parley-<random>.local.",
//     and the HTTPS port,
//   - TXT, described below,
//   - A and AAAA for that host name: the addresses of the interface the
//     packet is sent on, IPv4 and IPv6 (global, unique-local and link-local).
//
// The advertiser uses a random host name instead of the machine's own so that
// its address records can never flush or contradict those of the operating
// system's responder (Avahi, mDNSResponder) for the machine name.
//
// All records carry the same TTL, 120 s by default (AdvertiseOptions.TTL):
// RFC 6762 suggests 75 minutes for PTR, SRV and TXT, but a host that crashes
// must vanish from lobbies within minutes, not an hour. Browsers re-query a
// record at 80, 85, 90 and 95 % of its TTL (RFC 6762 §5.2), so live rooms
// stay listed and dead ones expire on time. Close sends a goodbye (TTL 0) so
// that a room that ends disappears at once.
//
// # TXT record (version 1)
//
// Keys are short to keep the packet small; every string is "key=value" and
// at most 255 bytes, values are UTF-8.
//
//	v=1                 protocol version (the signaling protocol's); browsers
//	                    ignore rooms whose version they do not speak
//	room=Team sync      the room's name as the host gave it (the instance name
//	                    may carry a " (2)" suffix or be cut to 63 bytes)
//	host=Ada            the host's display name
//	n=3                 participants in the room now
//	pw=1                a password is needed (0 or absent: no)
//	lk=1                the room is locked (0 or absent: no)
//	lb=1                joiners wait until a host lets them in (0 or absent: no)
//	port=8443           HTTPS port; must equal the SRV port
//	path=/r/team-sync   path of the room on that port, as the invite link
//	                    carries it: percent-escaped (/r/Caf%C3%A9-sync), so
//	                    a browser puts it in the URL without escaping it again
//	fp=sha256:<64 hex>  SHA-256 fingerprint of the host's certificate, pinned
//	                    by the joining app
//
// Browsers treat every value as untrusted input: names are stripped of
// control and bidi-override characters, whitespace is collapsed and the
// result is cut to 64 runes; a missing or invalid v, port, path or fp, an
// unparsable n/pw/lk, an SRV port that differs from port=, or a TXT record of
// more than 32 strings or 2048 bytes makes the browser ignore the room (and
// log why, once). Addresses that cannot be a LAN peer (unspecified,
// loopback, multicast, broadcast) are dropped.
//
// # Names
//
// The instance name is the room name, cut to the 63 bytes a DNS label can
// hold. Before announcing, Advertise probes for it (RFC 6762 §8.1: three
// queries 250 ms apart with the proposed records in the authority section).
// If another host answers for that name with different records, the name is
// taken: Advertise tries "Name (2)", "Name (3)", … . If two hosts probe for
// the same name at the same moment, the lexicographic tie-break of RFC 6762
// §8.2 decides which one keeps it. Conflicts that appear after a name was
// claimed (two networks joined) are not resolved.
//
// # Interfaces
//
// DefaultInterfaces lists the interfaces to use when the user chose none:
// up, multicast-capable and not loopback. InterfacesByName serves a --iface
// option. Packets are only accepted when they were sent to the mDNS group
// (224.0.0.251 or ff02::fb, which routers do not forward, so the sender is
// on the link) and arrived on a chosen interface.
//
// # Why not grandcat/zeroconf
//
// The stack names github.com/grandcat/zeroconf v1.0.0, but its source rules
// it out for this job: its Browse reports each instance only once (no TXT
// updates), drops goodbye packets without reporting them, stops querying
// after the first answer (so TTLs could never be refreshed), and its Server
// starts announcing before Server.TTL can be called (the first announcements
// go out with TTL 3200 s, and the call is a data race, as is SetText against
// the goroutines answering queries); its announcement goroutine cannot be
// stopped and it never detects name conflicts. This package speaks mDNS
// itself on top of github.com/miekg/dns (the packet codec zeroconf also
// uses) and golang.org/x/net.
//
// # Firewalls
//
// Discovery needs UDP port 5353 to and from 224.0.0.251 and ff02::fb on the
// chosen interfaces. A host firewall that drops it makes rooms invisible,
// though joining by URL still works.
package discovery
