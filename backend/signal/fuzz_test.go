package signal

import (
	"reflect"
	"testing"
)

// FuzzDecode checks that no input makes Decode panic, that every decoder
// fails only with a *Error, and that whatever decodes survives an
// Encode/Decode round trip unchanged. Seeds live in testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	for _, tc := range roundTrips {
		f.Add([]byte(tc.json))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, dec := range []func([]byte) (Message, error){DecodeClient, DecodeServer} {
			if _, err := dec(data); err != nil {
				if _, ok := err.(*Error); !ok {
					t.Fatalf("error %v is %T, want *Error", err, err)
				}
			}
		}
		msg, err := Decode(data)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %v is %T, want *Error", err, err)
			}
			return
		}
		out, err := Encode(msg)
		if err != nil {
			t.Fatalf("Encode(Decode(%q)) failed: %v", data, err)
		}
		if len(out) > MaxMessageSize {
			// Encoding may escape what the input sent raw (U+2028), so the
			// second Decode could legitimately hit the size limit.
			return
		}
		again, err := Decode(out)
		if err != nil {
			t.Fatalf("Decode(Encode(Decode(%q))) = %s: %v", data, out, err)
		}
		if !reflect.DeepEqual(msg, again) {
			t.Fatalf("round trip changed the message:\n in  %q\n got %#v\n then %#v", data, msg, again)
		}
	})
}
