package rtcconf

import (
	"errors"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// Close waits for a negotiation under way, and none runs after it.
func TestCloseGuard(t *testing.T) {
	pc := mustPC(t, mustEngine(t, Options{}))
	var g CloseGuard
	negotiating, finish := make(chan struct{}), make(chan struct{})
	go func() {
		_ = g.Do(func() error {
			close(negotiating)
			<-finish
			return nil
		})
	}()
	<-negotiating
	closed := make(chan error, 1)
	go func() { closed <- g.Close(pc) }()
	select {
	case <-closed:
		t.Fatal("Close did not wait for the negotiation under way")
	case <-time.After(50 * time.Millisecond):
	}
	close(finish)
	if err := <-closed; err != nil {
		t.Fatalf("close: %v", err)
	}
	if pc.ConnectionState() != webrtc.PeerConnectionStateClosed {
		t.Errorf("connection state %v, want closed", pc.ConnectionState())
	}
	ran := false
	err := g.Do(func() error { ran = true; return nil })
	if ran || !errors.Is(err, webrtc.ErrConnectionClosed) {
		t.Errorf("after Close: ran %v, err %v; want not run, ErrConnectionClosed", ran, err)
	}
}
