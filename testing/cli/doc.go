// Package cli tests the parley binary end to end: real processes, real
// media, talking over loopback only.
package cli
