// Package nat tests Parley across simulated networks: Linux network
// namespaces the tests build themselves (veth pairs, a bridge, addresses in
// 10.88.0.0/16 that exist only inside them), with the server and bots as
// child processes (this test binary, re-executed in a namespace with a role).
// Nothing touches the machine's own interfaces. The tests need root and
// iproute2, and skip otherwise.
package nat
