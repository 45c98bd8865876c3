package discovery

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// TXT keys; see the package documentation for their meaning.
const (
	keyVersion      = "v"
	keyRoom         = "room"
	keyHost         = "host"
	keyParticipants = "n"
	keyPassword     = "pw"
	keyLocked       = "lk"
	keyLobby        = "lb"
	keyPort         = "port"
	keyPath         = "path"
	keyFingerprint  = "fp"
)

const (
	// A TXT record bigger than this is not one of ours: ours are about
	// 200 bytes. RFC 6763 §6.2 recommends staying under 1300.
	maxTXTStrings = 32
	maxTXTBytes   = 2048
	// maxVersion keeps v= to four digits.
	maxVersion = 9999
)

// encodeTXT renders a normalised room as TXT strings (raw bytes, not DNS
// presentation format). The version comes first, as RFC 6763 §6.7 advises.
func encodeTXT(r Room) []string {
	return []string{
		kv(keyVersion, strconv.Itoa(r.ProtocolVersion)),
		kv(keyRoom, r.Name),
		kv(keyHost, r.Host),
		kv(keyParticipants, strconv.Itoa(r.Participants)),
		kv(keyPassword, boolText(r.Password)),
		kv(keyLocked, boolText(r.Locked)),
		kv(keyLobby, boolText(r.Lobby)),
		kv(keyPort, strconv.Itoa(r.Port)),
		kv(keyPath, r.Path),
		kv(keyFingerprint, r.Fingerprint),
	}
}

// kv joins a key and value, cutting the value so the string fits the
// 255-byte TXT limit (only names can be that long; they are cut at a rune
// boundary).
func kv(key, value string) string {
	return key + "=" + truncateBytes(value, maxTXTString-len(key)-1)
}

func boolText(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// decodeTXT parses raw TXT strings received from the network. versions
// lists the protocol versions we can join. Required keys (v, port, path,
// fp) must be present and valid; optional ones default to zero values but
// must be well-formed when present. Names are sanitised. Per RFC 6763 §6.4
// keys are case-insensitive and only the first occurrence of a key counts.
func decodeTXT(strs []string, versions []int) (Room, error) {
	if len(strs) > maxTXTStrings {
		return Room{}, fmt.Errorf("TXT record has %d strings, the limit is %d", len(strs), maxTXTStrings)
	}
	total := 0
	for _, s := range strs {
		total += 1 + len(s)
	}
	if total > maxTXTBytes {
		return Room{}, fmt.Errorf("TXT record is %d bytes, the limit is %d", total, maxTXTBytes)
	}

	vals := make(map[string]string, len(strs))
	for _, s := range strs {
		if len(s) > maxTXTString {
			return Room{}, errors.New("TXT string longer than 255 bytes")
		}
		key, value, hasValue := strings.Cut(s, "=")
		key = asciiLower(key)
		if key == "" {
			continue
		}
		if _, seen := vals[key]; seen {
			continue
		}
		if !hasValue {
			// A key without "=" is a boolean attribute that is present
			// (RFC 6763 §6.4); record it as "1" so flags read as true.
			value = "1"
		}
		vals[key] = value
	}

	var r Room
	v, ok := vals[keyVersion]
	if !ok {
		return Room{}, errors.New("no protocol version (v=)")
	}
	version, ok := parseDecimal(v, 4)
	if !ok {
		return Room{}, fmt.Errorf("invalid protocol version %q", truncateBytes(v, 16))
	}
	if !slices.Contains(versions, version) {
		return Room{}, fmt.Errorf("unsupported protocol version %d", version)
	}
	r.ProtocolVersion = version

	p, ok := vals[keyPort]
	if !ok {
		return Room{}, errors.New("no port (port=)")
	}
	port, ok := parseDecimal(p, 5)
	if !ok || port < 1 || port > 65535 {
		return Room{}, fmt.Errorf("invalid port %q", truncateBytes(p, 16))
	}
	r.Port = port

	path, ok := vals[keyPath]
	if !ok {
		return Room{}, errors.New("no path (path=)")
	}
	if err := validatePath(path); err != nil {
		return Room{}, fmt.Errorf("invalid path: %w", err)
	}
	r.Path = path

	fp, ok := vals[keyFingerprint]
	if !ok {
		return Room{}, errors.New("no certificate fingerprint (fp=)")
	}
	if r.Fingerprint, ok = okFingerprint(fp); !ok {
		return Room{}, fmt.Errorf("invalid certificate fingerprint %q", truncateBytes(cleanText(fp, 24), 24))
	}

	if n, ok := vals[keyParticipants]; ok {
		count, ok := parseDecimal(n, 7)
		if !ok {
			return Room{}, fmt.Errorf("invalid participant count %q", truncateBytes(n, 16))
		}
		r.Participants = count
	}
	for key, dst := range map[string]*bool{keyPassword: &r.Password, keyLocked: &r.Locked, keyLobby: &r.Lobby} {
		s, ok := vals[key]
		if !ok {
			continue
		}
		switch s {
		case "0":
		case "1":
			*dst = true
		default:
			return Room{}, fmt.Errorf("invalid %s=%q, want 0 or 1", key, truncateBytes(s, 16))
		}
	}
	r.Name = cleanText(vals[keyRoom], MaxNameRunes)
	r.Host = cleanText(vals[keyHost], MaxNameRunes)
	return r, nil
}

func okFingerprint(fp string) (string, bool) {
	norm, err := normalizeFingerprint(fp)
	return norm, err == nil
}
