package audio

import (
	"errors"
	"testing"
)

func TestResolveMic(t *testing.T) {
	spkMonitor := Device{ID: "spk.monitor", Name: "Monitor of Speakers", Monitor: true}
	headset := Device{ID: "headset", Name: "Headset"}
	webcam := Device{ID: "webcam", Name: "Webcam microphone"}
	cases := []struct {
		name string
		mics []Device
		want string
		pick string
		err  error
	}{
		{name: "the default microphone", mics: []Device{headset, {ID: "webcam", Name: "Webcam microphone", Default: true}}, want: "webcam"},
		{name: "no default: the first", mics: []Device{spkMonitor, headset, webcam}, want: "headset"},
		{name: "a monitor as the default is passed over", mics: []Device{{ID: "spk.monitor", Monitor: true, Default: true}, webcam}, want: "webcam"},
		{name: "only monitors: no microphone", mics: []Device{{ID: "spk.monitor", Monitor: true, Default: true}}, err: ErrNoMic},
		{name: "nothing at all", err: ErrNoMic},
		{name: "a monitor by name", mics: []Device{spkMonitor, headset}, pick: "spk.monitor", want: "spk.monitor"},
		{name: "by label", mics: []Device{spkMonitor, headset}, pick: "Headset", want: "headset"},
		{name: "a name that is gone", mics: []Device{headset}, pick: "usb-mic", err: ErrNoDevice},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := resolveMic(c.mics, c.pick)
			if !errors.Is(err, c.err) {
				t.Fatalf("error %v, want %v", err, c.err)
			}
			if got.ID != c.want {
				t.Errorf("picked %q, want %q", got.ID, c.want)
			}
		})
	}
}
