package signal

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func ptr[T any](v T) *T { return &v }

const testSDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"

// roundTrips lists one valid example of every message type, as JSON a
// third-party client would write and as the struct Decode must produce.
var roundTrips = []struct {
	name string
	json string
	msg  Message
}{
	{"hello", `{"type":"hello","id":1,"version":1,"room":"standup","name":"Ada Lovelace","password":"s3cret"}`,
		&Hello{ID: 1, Version: 1, Room: "standup", Name: "Ada Lovelace", Password: "s3cret"}},
	{"hello without password", `{"type":"hello","version":1,"room":"r.1_x-y","name":"Zoë 🎉"}`,
		&Hello{Version: 1, Room: "r.1_x-y", Name: "Zoë 🎉"}},
	{"publish", `{"type":"publish","id":2,"track":{"id":"{9b1c-4d}","kind":"screen","muted":false}}`,
		&Publish{ID: 2, Track: Track{ID: "{9b1c-4d}", Kind: KindScreen}}},
	{"unpublish", `{"type":"unpublish","trackId":"cam"}`, &Unpublish{TrackID: "cam"}},
	{"leave", `{"type":"leave"}`, &Leave{}},
	{"leave with id", `{"type":"leave","id":9007199254740991}`, &Leave{ID: MaxMessageID}},
	{"lock", `{"type":"lock","locked":true}`, &Lock{Locked: true}},
	{"remove", `{"type":"remove","participantId":"a1b2"}`, &Remove{ParticipantID: "a1b2"}},
	{"end", `{"type":"end","id":3}`, &End{ID: 3}},
	{"offer", `{"type":"offer","id":4,"pc":"publish","sdp":"` + jsonEsc(testSDP) + `"}`,
		&Offer{ID: 4, PC: PCPublish, SDP: testSDP}},
	{"answer", `{"type":"answer","pc":"subscribe","sdp":"` + jsonEsc(testSDP) + `"}`,
		&Answer{PC: PCSubscribe, SDP: testSDP}},
	{"candidate", `{"type":"candidate","pc":"publish","candidate":{"candidate":"candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"abcd"}}`,
		&Candidate{PC: PCPublish, Candidate: &ICECandidate{
			Candidate: "candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host",
			SDPMid:    ptr("0"), SDPMLineIndex: ptr(uint16(0)), UsernameFragment: ptr("abcd")}}},
	{"end of candidates", `{"type":"candidate","pc":"subscribe","candidate":null}`,
		&Candidate{PC: PCSubscribe}},
	{"empty candidate", `{"type":"candidate","pc":"subscribe","candidate":{"candidate":""}}`,
		&Candidate{PC: PCSubscribe, Candidate: &ICECandidate{}}},
	{"mute from client", `{"type":"mute","trackId":"mic","muted":true}`, &Mute{TrackID: "mic", Muted: true}},
	{"moderator mute", `{"type":"mute","trackId":"mic","participantId":"p2","muted":true}`,
		&Mute{TrackID: "mic", ParticipantID: "p2", Muted: true}},
	{"mute by host", `{"type":"mute","trackId":"mic","participantId":"p2","muted":true,"by":"p1"}`,
		&Mute{TrackID: "mic", ParticipantID: "p2", Muted: true, By: "p1"}},
	{"hello with token", `{"type":"hello","version":2,"room":"r","name":"a","token":"abc.DEF-_"}`,
		&Hello{Version: 2, Room: "r", Name: "a", Token: "abc.DEF-_"}},
	{"admit", `{"type":"admit","id":3,"knockId":"k1"}`, &Admit{ID: 3, KnockID: "k1"}},
	{"deny", `{"type":"deny","knockId":"k1"}`, &Deny{KnockID: "k1"}},
	{"restart", `{"type":"restart","pc":"subscribe"}`, &Restart{PC: PCSubscribe}},
	{"ping", `{"type":"ping","id":17}`, &Ping{ID: 17}},
	{"ping without id", `{"type":"ping"}`, &Ping{}},
	{"pong", `{"type":"pong","id":17}`, &Pong{ID: 17}},
	{"pause", `{"type":"pause","participantId":"p2","trackId":"camera","paused":true}`,
		&Pause{ParticipantID: "p2", TrackID: "camera", Paused: true}},
	{"pause to reference frames", `{"type":"pause","participantId":"p2","trackId":"camera","paused":false,"referenceOnly":true}`,
		&Pause{ParticipantID: "p2", TrackID: "camera", ReferenceOnly: true}},
	{"participant-state", `{"type":"participant-state","participantId":"p1","state":"reconnecting"}`,
		&ParticipantState{ParticipantID: "p1", State: StateReconnecting}},
	{"resume hello", `{"type":"hello","version":2,"room":"r","name":"a","resume":"tok"}`,
		&Hello{Version: 2, Room: "r", Name: "a", Resume: "tok"}},
	{"waiting", `{"type":"waiting","id":1}`, &Waiting{ID: 1}},
	{"knock", `{"type":"knock","knock":{"id":"k1","name":"Eve"}}`, &KnockMsg{Knock: Knock{ID: "k1", Name: "Eve"}}},
	{"knock of a removed device", `{"type":"knock","knock":{"id":"k1","name":"Eve","removed":true}}`, &KnockMsg{Knock: Knock{ID: "k1", Name: "Eve", Removed: true}}},
	{"hello with device", `{"type":"hello","version":2,"room":"r","name":"a","device":"d-7Qx_2"}`,
		&Hello{Version: 2, Room: "r", Name: "a", Device: "d-7Qx_2"}},
	{"knock-ended", `{"type":"knock-ended","knockId":"k1","outcome":"admitted","by":"p1"}`,
		&KnockEnded{KnockID: "k1", Outcome: KnockAdmitted, By: "p1"}},
	{"mute from server", `{"type":"mute","trackId":"mic","participantId":"p1","muted":false}`,
		&Mute{TrackID: "mic", ParticipantID: "p1"}},
	{"chat from client", `{"type":"chat","id":5,"text":"hello\n\tworld <b>&</b>"}`,
		&Chat{ID: 5, Text: "hello\n\tworld <b>&</b>"}},
	{"chat from server", `{"type":"chat","seq":7,"from":"p1","name":"Ada","text":"hi","ts":1700000000000}`,
		&Chat{Seq: 7, From: "p1", Name: "Ada", Text: "hi", TS: 1700000000000}},
	{"welcome", `{"type":"welcome","id":1,"version":1,"participantId":"p2",
		"room":{"name":"standup","locked":false,"limit":100},
		"participants":[{"id":"p1","name":"Ada","role":"host"},{"id":"p2","name":"Bob","role":"guest"}],
		"tracks":[{"id":"mic","participantId":"p1","kind":"audio","muted":true}],
		"iceServers":[{"urls":["stun:127.0.0.1:3478","turn:127.0.0.1:3478?transport=udp"],"username":"1700:standup","credential":"x"}],
		"chat":[{"seq":1,"from":"p1","name":"Ada","text":"hi","ts":1700000000000}]}`,
		&Welcome{ID: 1, Version: 1, ParticipantID: "p2",
			Room:         RoomInfo{Name: "standup", Limit: 100},
			Participants: []Participant{{ID: "p1", Name: "Ada", Role: RoleHost}, {ID: "p2", Name: "Bob", Role: RoleGuest}},
			Tracks:       []Track{{ID: "mic", ParticipantID: "p1", Kind: KindAudio, Muted: true}},
			ICEServers: []ICEServer{{URLs: []string{"stun:127.0.0.1:3478", "turn:127.0.0.1:3478?transport=udp"},
				Username: "1700:standup", Credential: "x"}},
			Chat: []ChatMessage{{Seq: 1, From: "p1", Name: "Ada", Text: "hi", TS: 1700000000000}}}},
	{"error", `{"type":"error","id":1,"code":"room-full","message":"room \"standup\" is full"}`,
		&Error{ID: 1, Code: CodeRoomFull, Message: `room "standup" is full`}},
	{"error with future code", `{"type":"error","code":"lobby-wait","message":""}`,
		&Error{Code: "lobby-wait"}},
	{"participant-joined", `{"type":"participant-joined","participant":{"id":"p3","name":"Cy","role":"guest"}}`,
		&ParticipantJoined{Participant: Participant{ID: "p3", Name: "Cy", Role: RoleGuest}}},
	{"participant-left", `{"type":"participant-left","participantId":"p3","reason":"gone"}`,
		&ParticipantLeft{ParticipantID: "p3", Reason: ReasonGone}},
	{"participant-updated", `{"type":"participant-updated","participant":{"id":"p3","name":"Cy","role":"host"}}`,
		&ParticipantUpdated{Participant: Participant{ID: "p3", Name: "Cy", Role: RoleHost}}},
	{"track-published", `{"type":"track-published","track":{"id":"cam","participantId":"p1","kind":"video","muted":false}}`,
		&TrackPublished{Track: Track{ID: "cam", ParticipantID: "p1", Kind: KindVideo}}},
	{"track-unpublished", `{"type":"track-unpublished","trackId":"cam","participantId":"p1"}`,
		&TrackUnpublished{TrackID: "cam", ParticipantID: "p1"}},
	{"speaking", `{"type":"speaking","participantId":"p1","speaking":true,"level":127}`,
		&Speaking{ParticipantID: "p1", Speaking: true, Level: 127}},
	{"room", `{"type":"room","name":"standup","locked":true,"limit":8}`,
		&RoomUpdate{Name: "standup", Locked: true, Limit: 8}},
	{"ended", `{"type":"ended","reason":"host-ended"}`, &Ended{Reason: EndHostEnded}},
}

func jsonEsc(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

func TestRoundTrip(t *testing.T) {
	seen := map[string]bool{}
	for _, tc := range roundTrips {
		t.Run(tc.name, func(t *testing.T) {
			seen[tc.msg.Type()] = true
			got, err := Decode([]byte(tc.json))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, tc.msg) {
				t.Fatalf("Decode = %#v, want %#v", got, tc.msg)
			}
			data, err := Encode(tc.msg)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if !strings.HasPrefix(string(data), `{"type":"`+tc.msg.Type()+`"`) {
				t.Errorf("Encode = %s, want type first", data)
			}
			again, err := Decode(data)
			if err != nil {
				t.Fatalf("Decode(Encode) %s: %v", data, err)
			}
			if !reflect.DeepEqual(again, tc.msg) {
				t.Fatalf("Decode(Encode) = %#v, want %#v", again, tc.msg)
			}
		})
	}
	// Every type string that newMessage knows must have an example above.
	for _, typ := range allTypes {
		if !seen[typ] {
			t.Errorf("no round-trip case for %q", typ)
		}
	}
}

var allTypes = []string{
	TypeHello, TypePublish, TypeUnpublish, TypeLeave, TypeLock, TypeRemove, TypeEnd,
	TypeOffer, TypeAnswer, TypeCandidate, TypeMute, TypeChat,
	TypeWelcome, TypeError, TypeParticipantJoined, TypeParticipantLeft, TypeParticipantUpdated,
	TypeTrackPublished, TypeTrackUnpublished, TypeSpeaking, TypeRoom, TypeEnded,
	TypeAdmit, TypeDeny, TypeWaiting, TypeKnock, TypeKnockEnded, TypeRestart, TypeParticipantState,
	TypePing, TypePong,
}

func TestAllTypesKnown(t *testing.T) {
	for _, typ := range allTypes {
		m, _ := newMessage(typ)
		if m == nil || m.Type() != typ {
			t.Errorf("newMessage(%q) = %T", typ, m)
		}
	}
}

func TestEncodeExact(t *testing.T) {
	tests := []struct {
		msg  Message
		want string
	}{
		{&Leave{}, `{"type":"leave"}`},
		{&Leave{ID: 4}, `{"type":"leave","id":4}`},
		{&Ping{ID: 5}, `{"type":"ping","id":5}`},
		{&Pong{ID: 5}, `{"type":"pong","id":5}`},
		{&Pong{}, `{"type":"pong"}`},
		{&Chat{Text: "<b>&</b>"}, `{"type":"chat","text":"<b>&</b>"}`},
		{&Candidate{PC: PCPublish}, `{"type":"candidate","pc":"publish","candidate":null}`},
		{&Mute{TrackID: "t", Muted: true}, `{"type":"mute","trackId":"t","muted":true}`},
	}
	for _, tc := range tests {
		got, err := Encode(tc.msg)
		if err != nil {
			t.Fatalf("Encode(%#v): %v", tc.msg, err)
		}
		if string(got) != tc.want {
			t.Errorf("Encode(%#v) = %s, want %s", tc.msg, got, tc.want)
		}
	}
}

func TestEncodeRejects(t *testing.T) {
	tests := []struct {
		name string
		msg  Message
	}{
		{"nil", nil},
		{"typed nil", (*Hello)(nil)},
		{"invalid", &Hello{Version: 1, Room: "r", Name: ""}},
		{"negative id", &Leave{ID: -1}},
		{"id too large", &Leave{ID: MaxMessageID + 1}},
		{"welcome without self", &Welcome{Version: 1, ParticipantID: "p", Room: RoomInfo{Name: "r", Limit: 1}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if data, err := Encode(tc.msg); err == nil {
				t.Fatalf("Encode = %s, want error", data)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	long := func(s string, n int) string { return strings.Repeat(s, n) }
	hello := func(fields string) string { return `{"type":"hello","id":7,"version":1,"room":"r",` + fields + `}` }
	tests := []struct {
		name   string
		json   string
		code   Code
		id     int64
		substr string
	}{
		{"too large", `{"type":"chat","text":"` + long("a", MaxMessageSize) + `"}`, CodeTooLarge, 0, "limit"},
		{"invalid utf-8", "{\"type\":\"chat\",\"text\":\"\xff\"}", CodeBadRequest, 0, "UTF-8"},
		{"empty", ``, CodeBadRequest, 0, "malformed"},
		{"not json", `hello`, CodeBadRequest, 0, "malformed JSON"},
		{"truncated", `{"type":"leave"`, CodeBadRequest, 0, "malformed"},
		{"trailing garbage", `{"type":"leave"} x`, CodeBadRequest, 0, "malformed"},
		{"array", `[{"type":"leave"}]`, CodeBadRequest, 0, "JSON object"},
		{"string", `"leave"`, CodeBadRequest, 0, "JSON object"},
		{"null", `null`, CodeBadRequest, 0, "no type"},
		{"no type", `{"id":3}`, CodeBadRequest, 3, "no type"},
		{"type not string", `{"type":5}`, CodeBadRequest, 0, `"type"`},
		{"unknown type", `{"type":"subscribe","id":2}`, CodeBadRequest, 2, "unknown message type"},
		{"id string", `{"type":"leave","id":"1"}`, CodeBadRequest, 0, `"id"`},
		{"id float", `{"type":"leave","id":1.5}`, CodeBadRequest, 0, `"id"`},
		{"id negative", `{"type":"leave","id":-1}`, CodeBadRequest, 0, "id must be"},
		{"id too large", `{"type":"leave","id":9007199254740992}`, CodeBadRequest, 0, "id must be"},
		{"hello no version", `{"type":"hello","id":7,"room":"r","name":"a"}`, CodeBadRequest, 7, "version"},
		{"hello version string", hello(`"name":"a","version":"1"`), CodeBadRequest, 7, `"version"`},
		{"hello empty name", hello(`"name":""`), CodeBadRequest, 7, "name is empty"},
		{"hello blank name", hello(`"name":"   "`), CodeBadRequest, 7, "name is empty"},
		{"hello invisible name", hello(`"name":"\u200b"`), CodeBadRequest, 7, "name is empty"},
		{"hello long name", hello(`"name":"` + long("é", MaxNameRunes+1) + `"`), CodeBadRequest, 7, "limit is 64"},
		{"hello control in name", hello(`"name":"a\u0007b"`), CodeBadRequest, 7, "control"},
		{"hello newline in name", hello(`"name":"a\nb"`), CodeBadRequest, 7, "control"},
		{"hello bidi in name", hello(`"name":"a\u202eb"`), CodeBadRequest, 7, "control"},
		{"hello device with a space", hello(`"name":"a","device":"my laptop"`), CodeBadRequest, 7, "device"},
		{"hello long device", hello(`"name":"a","device":"` + long("d", MaxIDBytes+1) + `"`), CodeBadRequest, 7, "device"},
		{"hello long password", hello(`"name":"a","password":"` + long("x", MaxPasswordBytes+1) + `"`), CodeBadRequest, 7, "password"},
		{"hello no room", `{"type":"hello","version":1,"name":"a"}`, CodeBadRequest, 0, "room name is empty"},
		{"hello room slash", `{"type":"hello","version":1,"room":"a/b","name":"a"}`, CodeBadRequest, 0, "room name contains"},
		{"hello room dot", `{"type":"hello","version":1,"room":"..","name":"a"}`, CodeBadRequest, 0, "starts with"},
		{"hello room long", `{"type":"hello","version":1,"room":"` + long("r", MaxRoomNameRunes+1) + `","name":"a"}`, CodeBadRequest, 0, "limit is 64"},
		{"publish bad kind", `{"type":"publish","track":{"id":"t","kind":"data"}}`, CodeBadRequest, 0, "kind"},
		{"publish no kind", `{"type":"publish","track":{"id":"t"}}`, CodeBadRequest, 0, "kind"},
		{"publish no track", `{"type":"publish"}`, CodeBadRequest, 0, "track id is empty"},
		{"publish track id space", `{"type":"publish","track":{"id":"a b","kind":"audio"}}`, CodeBadRequest, 0, "msid"},
		{"publish track id long", `{"type":"publish","track":{"id":"` + long("a", MaxIDBytes+1) + `","kind":"audio"}}`, CodeBadRequest, 0, "limit"},
		{"publish muted string", `{"type":"publish","track":{"id":"t","kind":"audio","muted":"yes"}}`, CodeBadRequest, 0, `"track.muted"`},
		{"unpublish no id", `{"type":"unpublish"}`, CodeBadRequest, 0, "trackId is empty"},
		{"remove no id", `{"type":"remove"}`, CodeBadRequest, 0, "participantId is empty"},
		{"offer bad pc", `{"type":"offer","pc":"both","sdp":"v=0"}`, CodeBadRequest, 0, "pc must be"},
		{"offer no pc", `{"type":"offer","sdp":"v=0"}`, CodeBadRequest, 0, "pc must be"},
		{"offer empty sdp", `{"type":"offer","pc":"publish","sdp":""}`, CodeBadRequest, 0, "sdp is empty"},
		{"offer not sdp", `{"type":"offer","pc":"publish","sdp":"hello"}`, CodeBadRequest, 0, "v=0"},
		{"offer sdp nul", `{"type":"offer","pc":"publish","sdp":"v=0\u0000"}`, CodeBadRequest, 0, "control"},
		{"offer sdp too large", `{"type":"offer","pc":"publish","sdp":"v=0` + long("a", MaxSDPSize) + `"}`, CodeBadRequest, 0, "limit"},
		{"answer bad pc", `{"type":"answer","pc":"","sdp":"v=0"}`, CodeBadRequest, 0, "pc must be"},
		{"candidate bad pc", `{"type":"candidate","pc":"x","candidate":null}`, CodeBadRequest, 0, "pc must be"},
		{"candidate not candidate", `{"type":"candidate","pc":"publish","candidate":{"candidate":"a=foo"}}`, CodeBadRequest, 0, "candidate:"},
		{"candidate newline", `{"type":"candidate","pc":"publish","candidate":{"candidate":"candidate:1\r\na=x"}}`, CodeBadRequest, 0, "control"},
		{"candidate long", `{"type":"candidate","pc":"publish","candidate":{"candidate":"candidate:` + long("1", MaxCandidateSize) + `"}}`, CodeBadRequest, 0, "limit"},
		{"candidate mline range", `{"type":"candidate","pc":"publish","candidate":{"candidate":"","sdpMLineIndex":70000}}`, CodeBadRequest, 0, "sdpMLineIndex"},
		{"candidate mid control", `{"type":"candidate","pc":"publish","candidate":{"candidate":"","sdpMid":"\n"}}`, CodeBadRequest, 0, "sdpMid"},
		{"mute no track", `{"type":"mute","muted":true}`, CodeBadRequest, 0, "trackId"},
		{"chat empty", `{"type":"chat","id":8,"text":""}`, CodeBadRequest, 8, "chat text is empty"},
		{"chat blank", `{"type":"chat","text":" \n\t "}`, CodeBadRequest, 0, "chat text is empty"},
		{"chat too long", `{"type":"chat","text":"` + long("ж", MaxChatRunes+1) + `"}`, CodeBadRequest, 0, "limit is 4000"},
		{"chat control", `{"type":"chat","text":"a\u001bb"}`, CodeBadRequest, 0, "control"},
		{"chat partial server form", `{"type":"chat","text":"a","seq":1}`, CodeBadRequest, 0, "chat from"},
		{"welcome no participants", `{"type":"welcome","version":1,"participantId":"p","room":{"name":"r","limit":1}}`, CodeBadRequest, 0, "does not include"},
		{"welcome zero limit", `{"type":"welcome","version":1,"participantId":"p","room":{"name":"r","limit":0},"participants":[{"id":"p","name":"a","role":"guest"}]}`, CodeBadRequest, 0, "limit"},
		{"welcome bad role", `{"type":"welcome","version":1,"participantId":"p","room":{"name":"r","limit":1},"participants":[{"id":"p","name":"a","role":"admin"}]}`, CodeBadRequest, 0, "role"},
		{"welcome track without owner", `{"type":"welcome","version":1,"participantId":"p","room":{"name":"r","limit":1},"participants":[{"id":"p","name":"a","role":"guest"}],"tracks":[{"id":"t","kind":"audio"}]}`, CodeBadRequest, 0, "participantId"},
		{"welcome bad ice url", `{"type":"welcome","version":1,"participantId":"p","room":{"name":"r","limit":1},"participants":[{"id":"p","name":"a","role":"guest"}],"iceServers":[{"urls":["http://x"]}]}`, CodeBadRequest, 0, "stun:"},
		{"welcome ice no urls", `{"type":"welcome","version":1,"participantId":"p","room":{"name":"r","limit":1},"participants":[{"id":"p","name":"a","role":"guest"}],"iceServers":[{"urls":[]}]}`, CodeBadRequest, 0, "no urls"},
		{"error bad code", `{"type":"error","code":"Room Full"}`, CodeBadRequest, 0, "error code"},
		{"error no code", `{"type":"error","message":"x"}`, CodeBadRequest, 0, "error code"},
		{"participant-left bad reason", `{"type":"participant-left","participantId":"p","reason":"bye"}`, CodeBadRequest, 0, "reason"},
		{"participant-joined no id", `{"type":"participant-joined","participant":{"name":"a","role":"guest"}}`, CodeBadRequest, 0, "participant id"},
		{"track-published no owner", `{"type":"track-published","track":{"id":"t","kind":"audio"}}`, CodeBadRequest, 0, "participantId"},
		{"track-unpublished no owner", `{"type":"track-unpublished","trackId":"t"}`, CodeBadRequest, 0, "participantId"},
		{"speaking level high", `{"type":"speaking","participantId":"p","level":128}`, CodeBadRequest, 0, "level"},
		{"speaking level negative", `{"type":"speaking","participantId":"p","level":-1}`, CodeBadRequest, 0, "level"},
		{"room no name", `{"type":"room","limit":3}`, CodeBadRequest, 0, "room name"},
		{"ended bad reason", `{"type":"ended","reason":"bored"}`, CodeBadRequest, 0, "reason"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg, err := Decode([]byte(tc.json))
			if err == nil {
				t.Fatalf("Decode = %#v, want %s error", msg, tc.code)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is %T, want *Error", err, err)
			}
			if e.Code != tc.code || e.ID != tc.id || !strings.Contains(e.Message, tc.substr) {
				t.Fatalf("error = %+v, want code %s id %d message containing %q", e, tc.code, tc.id, tc.substr)
			}
			// The error itself must be sendable.
			if _, err := Encode(e); err != nil {
				t.Fatalf("Encode(error): %v", err)
			}
		})
	}
}

func TestDecodeIgnoresUnknownFields(t *testing.T) {
	msg, err := Decode([]byte(`{"type":"lock","locked":true,"future":{"x":[1,2]},"id":6}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := (&Lock{ID: 6, Locked: true}); !reflect.DeepEqual(msg, want) {
		t.Fatalf("got %#v, want %#v", msg, want)
	}
}

func TestDecodeClient(t *testing.T) {
	tests := []struct {
		name string
		json string
		want Message // nil: rejected with bad-request
	}{
		{"hello", `{"type":"hello","version":1,"room":"r","name":"a"}`, &Hello{Version: 1, Room: "r", Name: "a"}},
		{"publish offer", `{"type":"offer","pc":"publish","sdp":"v=0"}`, &Offer{PC: PCPublish, SDP: "v=0"}},
		{"subscribe offer", `{"type":"offer","pc":"subscribe","sdp":"v=0"}`, nil},
		{"subscribe answer", `{"type":"answer","pc":"subscribe","sdp":"v=0"}`, &Answer{PC: PCSubscribe, SDP: "v=0"}},
		{"publish answer", `{"type":"answer","pc":"publish","sdp":"v=0"}`, nil},
		{"welcome", `{"type":"welcome"}`, nil},
		{"error", `{"type":"error","code":"internal"}`, nil},
		{"track-published", `{"type":"track-published","track":{"id":"t","participantId":"p","kind":"audio"}}`, nil},
		{"mute by ignored", `{"type":"mute","trackId":"t","participantId":"p2","muted":true,"by":"x y"}`,
			&Mute{TrackID: "t", ParticipantID: "p2", Muted: true}},
		{"mute target invalid", `{"type":"mute","trackId":"t","participantId":"someone else","muted":true}`, nil},
		{"pause without participant", `{"type":"pause","trackId":"camera","paused":true}`, nil},
		{"knock from client", `{"type":"knock","knock":{"id":"k","name":"a"}}`, nil},
		{"admit", `{"type":"admit","knockId":"k"}`, &Admit{KnockID: "k"}},
		{"ping", `{"type":"ping","id":12}`, &Ping{ID: 12}},
		{"pong from client", `{"type":"pong","id":12}`, nil},
		{"bad token", `{"type":"hello","version":2,"room":"r","name":"a","token":"a b"}`, nil},
		{"publish owner ignored", `{"type":"publish","track":{"id":"t","participantId":"x y","kind":"video"}}`,
			&Publish{Track: Track{ID: "t", Kind: KindVideo}}},
		{"chat server fields ignored", `{"type":"chat","text":"hi","seq":-4,"from":"p","name":"","ts":1}`,
			&Chat{Text: "hi"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeClient([]byte(tc.json))
			if tc.want == nil {
				if CodeOf(err) != CodeBadRequest {
					t.Fatalf("DecodeClient = %#v, %v; want bad-request", got, err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("DecodeClient = %#v, %v; want %#v", got, err, tc.want)
			}
		})
	}
}

func TestDecodeServer(t *testing.T) {
	tests := []struct {
		name string
		json string
		ok   bool
	}{
		{"subscribe offer", `{"type":"offer","pc":"subscribe","sdp":"v=0"}`, true},
		{"publish offer", `{"type":"offer","pc":"publish","sdp":"v=0"}`, false},
		{"publish answer", `{"type":"answer","pc":"publish","sdp":"v=0"}`, true},
		{"subscribe answer", `{"type":"answer","pc":"subscribe","sdp":"v=0"}`, false},
		{"hello", `{"type":"hello","version":1,"room":"r","name":"a"}`, false},
		{"leave", `{"type":"leave"}`, false},
		{"end", `{"type":"end"}`, false},
		{"mute without owner", `{"type":"mute","trackId":"t","muted":true}`, false},
		{"mute with owner", `{"type":"mute","trackId":"t","participantId":"p","muted":true}`, true},
		{"chat client form", `{"type":"chat","text":"hi"}`, false},
		{"chat server form", `{"type":"chat","seq":1,"from":"p","name":"n","text":"hi","ts":1}`, true},
		{"ended", `{"type":"ended","reason":"shutdown"}`, true},
		{"pong", `{"type":"pong","id":3}`, true},
		{"ping", `{"type":"ping","id":3}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeServer([]byte(tc.json))
			if (err == nil) != tc.ok {
				t.Fatalf("DecodeServer err = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && CodeOf(err) != CodeBadRequest {
				t.Fatalf("code = %s, want bad-request", CodeOf(err))
			}
		})
	}
}

func TestDecodeServerLargeWelcome(t *testing.T) {
	w := &Welcome{Version: 1, ParticipantID: "p", Room: RoomInfo{Name: "r", Limit: 100},
		Participants: []Participant{{ID: "p", Name: "n", Role: RoleHost}}}
	for i := int64(1); i <= 200; i++ {
		w.Chat = append(w.Chat, ChatMessage{Seq: i, From: "p", Name: "n", Text: strings.Repeat("€", MaxChatRunes), TS: 1})
	}
	data, err := Encode(w)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) <= MaxMessageSize {
		t.Fatalf("welcome is only %d bytes; test needs one above MaxMessageSize", len(data))
	}
	if _, err := DecodeServer(data); err != nil {
		t.Fatalf("DecodeServer: %v", err)
	}
	if _, err := Decode(data); CodeOf(err) != CodeTooLarge {
		t.Fatalf("Decode err = %v, want too-large", err)
	}
}

func TestCheckVersion(t *testing.T) {
	for v := MinVersion; v <= Version; v++ {
		if err := (&Hello{Version: v}).CheckVersion(); err != nil {
			t.Fatalf("CheckVersion(%d) = %v", v, err)
		}
	}
	err := (&Hello{ID: 3, Version: Version + 1}).CheckVersion()
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeVersion || e.ID != 3 {
		t.Fatalf("CheckVersion(%d) = %v, want version error with id 3", Version+1, err)
	}
}
