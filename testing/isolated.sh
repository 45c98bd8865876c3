#!/bin/sh
# isolated.sh CMD… runs CMD in a network namespace of its own, so that
# nothing the browser and window tests send can reach an address outside
# it: pion gathers on every interface and Chromium on every one but
# loopback (in the machine's own namespace their media went to its eth0
# addresses), and the window's lobby asks the LAN for rooms over mDNS.
# Chromium needs an interface other than loopback to gather a candidate
# at all, so the namespace has one veth pair with both ends inside it.
set -eu
userns=
[ "$(id -u)" = 0 ] || userns=--map-root-user
exec unshare --net $userns sh -ec '
	ip link set lo up
	# No IPv6 on the pair: its link-local addresses would settle (DAD)
	# after Chromium starts, and Chromium fails a page load under way
	# when the network changes (ERR_NETWORK_CHANGED).
	v6=/proc/sys/net/ipv6/conf/default/disable_ipv6
	[ ! -e $v6 ] || echo 1 >$v6
	ip link add iso0 type veth peer name iso1
	ip addr add 10.200.0.1/24 dev iso0
	ip link set iso0 up
	ip link set iso1 up
	# The same for the link coming up.
	i=0
	until ip -o link show iso0 | grep -q "state UP"; do
		i=$((i + 1))
		[ $i -le 100 ] || { echo "isolated.sh: iso0 did not come up" >&2; exit 1; }
		sleep 0.05
	done
	exec "$@"
' isolated.sh "$@"
