package sfu

// vp8KeyframeStart reports whether an RTP payload (RFC 7741) is the first
// packet of a VP8 key frame: the payload descriptor has S=1 and PID=0, and
// the VP8 payload header that follows has P=0 (inverse key frame flag).
func vp8KeyframeStart(payload []byte) bool {
	if len(payload) < 1 {
		return false
	}
	b0 := payload[0]
	if b0&0x10 == 0 || b0&0x07 != 0 { // S bit, partition index
		return false
	}
	i := 1
	if b0&0x80 != 0 { // X: extended control bits
		if len(payload) < i+1 {
			return false
		}
		x := payload[i]
		i++
		if x&0x80 != 0 { // I: picture ID
			if len(payload) < i+1 {
				return false
			}
			if payload[i]&0x80 != 0 { // M: 15-bit picture ID
				i += 2
			} else {
				i++
			}
		}
		if x&0x40 != 0 { // L: TL0PICIDX
			i++
		}
		if x&0x30 != 0 { // T or K: TID/Y/KEYIDX
			i++
		}
	}
	if len(payload) <= i {
		return false
	}

	return payload[i]&0x01 == 0
}
