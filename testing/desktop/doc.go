// Package desktop tests the real desktop app in a real window under Xvfb:
// the build that users run, not a stand-in.
package desktop
