package vp8

// KeyframeStart reports whether an RTP payload (RFC 7741) is the first
// packet of a VP8 key frame: the payload descriptor has S=1 and PID=0, and
// the VP8 payload header that follows has P=0 (inverse key frame flag).
func KeyframeStart(payload []byte) bool {
	if len(payload) < 1 {
		return false
	}
	b0 := payload[0]
	if !startsFrame(b0) {
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

// startsFrame reports whether the first byte of a payload descriptor marks
// the first packet of a frame: S bit set, partition index 0.
func startsFrame(b0 byte) bool { return b0&0x10 != 0 && b0&0x07 == 0 }

// pictureID is a frame's VP8 picture id (RFC 7741 §4.2), which senders
// count up by one per frame: a gap means a whole frame was lost, which
// sequence numbers alone cannot tell from the end of the previous frame.
type pictureID struct {
	id   uint16
	bits uint8 // 7 or 15; 0: the frame carried none
}

// follows reports whether p is the picture right after prev, or whether
// either lacks an id (nothing to judge by).
func (p pictureID) follows(prev pictureID) bool {
	if p.bits == 0 || prev.bits == 0 || p.bits != prev.bits {
		return true
	}
	mask := uint16(1)<<p.bits - 1
	return p.id == (prev.id+1)&mask
}

// readPictureID reads the picture id of a VP8 payload descriptor (its
// M bit tells 7 from 15 bits, which pion's parser does not keep).
func readPictureID(payload []byte) pictureID {
	if len(payload) < 3 || payload[0]&0x80 == 0 || payload[1]&0x80 == 0 {
		return pictureID{}
	}
	if payload[2]&0x80 == 0 {
		return pictureID{id: uint16(payload[2] & 0x7f), bits: 7}
	}
	if len(payload) < 4 {
		return pictureID{}
	}
	return pictureID{id: uint16(payload[2]&0x7f)<<8 | uint16(payload[3]), bits: 15}
}

// Thinning is what a forwarder needs to leave out a sender's
// non-reference frames (half its rate, for a small tile) and keep the
// stream it forwards continuous.
type Thinning struct {
	// NonReference: the N bit, set on every packet of a frame that no
	// other frame refers to.
	NonReference bool
	// FrameStart: the first packet of a frame (S bit, partition 0).
	FrameStart bool
	// PictureIDBits is 7 or 15 when the descriptor carries a picture id
	// (at byte 2), 0 when not.
	PictureIDBits uint8
}

// ReadThinning reads the descriptor fields of Thinning from an RTP payload.
func ReadThinning(payload []byte) Thinning {
	if len(payload) < 1 {
		return Thinning{}
	}
	b0 := payload[0]
	return Thinning{
		NonReference:  b0&nonReferenceBit != 0,
		FrameStart:    startsFrame(b0),
		PictureIDBits: readPictureID(payload).bits,
	}
}

// ShiftPictureID lowers the picture id of a payload whose descriptor has
// one of the given width by by (modulo the width), in place: a forwarder
// that left out by frames renumbers the later ones so that receivers,
// which judge from picture ids whether a frame went missing, see none.
func ShiftPictureID(payload []byte, bits uint8, by uint16) {
	switch bits {
	case 7:
		payload[2] = byte((uint16(payload[2]&0x7f) - by) & 0x7f)
	case 15:
		id := ((uint16(payload[2]&0x7f)<<8 | uint16(payload[3])) - by) & 0x7fff
		payload[2] = 0x80 | byte(id>>8)
		payload[3] = byte(id)
	}
}
