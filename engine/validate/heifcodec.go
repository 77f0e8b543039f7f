package validate

import (
	"bytes"
	"fmt"
)

// The coded data of a HEIF image carries its own picture size, in the HEVC sequence
// parameter set or the AV1 sequence header, and the decoders allocate and decode what that
// says, whatever ispe claims: a 64 × 64 ispe over a 16384 × 16384 sequence header would get
// past the caps. These checks read those sizes (and count the pictures) without decoding.

// maxCodedSlack is how far a coded picture may be larger than its ispe: HEVC codes whole
// blocks of up to 64 × 64 and crops the rest.
const maxCodedSlack = 64

// maxAV1Frames caps the frames of one AV1 image: one, or one per spatial layer (at most 4).
const maxAV1Frames = 4

// codedTooLarge refuses a picture coded larger than its ispe.
func codedTooLarge(cw, ch uint64, w, h int) error {
	return corrupt("", fmt.Sprintf("its image data is coded at %d × %d pixels, more than the %d × %d its header says", cw, ch, w, h))
}

// join returns the extents as one slice, copying only when there are several (their total
// is bounded by the file's size).
func join(chunks [][]byte) []byte {
	if len(chunks) == 1 {
		return chunks[0]
	}
	return bytes.Join(chunks, nil)
}

// checkHEVC checks an hvcC record and an HEVC image's data (NAL units, each after a length
// of the record's size): every sequence parameter set must code at most the ispe's size
// (plus a block's padding), and the data may hold one picture only.
func checkHEVC(cfg []byte, chunks [][]byte, w, h int) error {
	if len(cfg) < 23 {
		return corrupt("", "the HEVC configuration is too short")
	}
	lenSize := int(cfg[21]&3) + 1
	if lenSize == 3 {
		return corrupt("", "the HEVC configuration is invalid")
	}
	r := &fields{b: cfg[22:]}
	for range r.u8() {
		r.u8() // array_completeness, NAL unit type
		for range r.u16() {
			if err := checkHEVCUnit(r.take(uint64(r.u16())), w, h); err != nil {
				return err
			}
		}
	}
	if r.bad {
		return corrupt("", "the HEVC configuration is cut short")
	}
	data, pictures := join(chunks), 0
	for p := 0; p < len(data); {
		if len(data)-p < lenSize {
			return corrupt("", "the HEVC image data is cut short")
		}
		n := int(fieldsOf(data[p:]).uint(lenSize))
		p += lenSize
		if n > len(data)-p {
			return corrupt("", "the HEVC image data is cut short")
		}
		unit := data[p : p+n]
		p += n
		if err := checkHEVCUnit(unit, w, h); err != nil {
			return err
		}
		// A slice of the base layer that starts a picture (first_slice_segment_in_pic_flag).
		if len(unit) > 2 && unit[0]>>1&0x3f < 32 && unit[0]&1 == 0 && unit[1]>>3 == 0 && unit[2]&0x80 != 0 {
			if pictures++; pictures > 1 {
				return corrupt("", "an HEVC image holds more than one picture")
			}
		}
	}
	return nil
}

func fieldsOf(b []byte) *fields { return &fields{b: b} }

// checkHEVCUnit checks a NAL unit's picture size if it is a sequence parameter set.
func checkHEVCUnit(unit []byte, w, h int) error {
	if len(unit) < 2 || unit[0]>>1&0x3f != 33 {
		return nil
	}
	cw, ch, ok := hevcSPSSize(unit)
	if !ok {
		return corrupt("", "an HEVC sequence parameter set is cut short")
	}
	if cw == 0 || ch == 0 || cw > uint64(w)+maxCodedSlack || ch > uint64(h)+maxCodedSlack {
		return codedTooLarge(cw, ch, w, h)
	}
	return nil
}

// hevcSPSSize reads pic_width_in_luma_samples and pic_height_in_luma_samples from an SPS
// NAL unit (H.265 7.3.2.2), skipping its profile_tier_level.
func hevcSPSSize(unit []byte) (w, h uint64, ok bool) {
	// The fields sit in the first ~40 bytes; remove the emulation prevention bytes of the
	// first 256 (00 00 03 → 00 00).
	raw := unit[2:min(len(unit), 258)]
	rbsp := make([]byte, 0, len(raw))
	zeros := 0
	for _, c := range raw {
		if zeros >= 2 && c == 3 {
			zeros = 0
			continue
		}
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
		rbsp = append(rbsp, c)
	}
	b := &bitReader{b: rbsp}
	b.skip(4) // sps_video_parameter_set_id
	sub := int(b.u(3))
	b.skip(1)      // sps_temporal_id_nesting_flag
	b.skip(88 + 8) // general profile, tier and level
	var profile, level [8]bool
	for i := range sub {
		profile[i], level[i] = b.u(1) == 1, b.u(1) == 1
	}
	if sub > 0 {
		b.skip(2 * (8 - sub))
	}
	for i := range sub {
		if profile[i] {
			b.skip(88)
		}
		if level[i] {
			b.skip(8)
		}
	}
	b.ue() // sps_seq_parameter_set_id
	if b.ue() == 3 {
		b.skip(1) // separate_colour_plane_flag
	}
	w, h = b.ue(), b.ue()
	return w, h, !b.bad
}

// checkAV1 checks an av1C record and an AV1 image's data (OBUs): every sequence header must
// allow frames of at most the ispe's size, and the data may hold at most maxAV1Frames
// frames.
func checkAV1(cfg []byte, chunks [][]byte, w, h int) error {
	if len(cfg) < 4 || cfg[0] != 0x81 {
		return corrupt("", "the AV1 configuration is invalid")
	}
	if _, err := checkOBUs(cfg[4:], w, h); err != nil {
		return err
	}
	frames, err := checkOBUs(join(chunks), w, h)
	if err != nil {
		return err
	}
	if frames > maxAV1Frames {
		return corrupt("", fmt.Sprintf("an AV1 image holds %d frames", frames))
	}
	return nil
}

// checkOBUs walks AV1 OBUs (AV1 5.3), checking sequence headers and counting frames.
func checkOBUs(data []byte, w, h int) (frames int, err error) {
	for p := 0; p < len(data); {
		head := data[p]
		if head&0x80 != 0 {
			return 0, corrupt("", "the AV1 image data is invalid")
		}
		typ, ext, sized := head>>3&15, head&4 != 0, head&2 != 0
		p++
		if ext {
			p++
		}
		size := uint64(len(data) - min(p, len(data)))
		if sized {
			var n int
			size, n = leb128(data[min(p, len(data)):])
			p += n
		}
		if p > len(data) || size > uint64(len(data)-p) {
			return 0, corrupt("", "the AV1 image data is cut short")
		}
		obu := data[p : p+int(size)]
		p += int(size)
		switch typ {
		case 1: // OBU_SEQUENCE_HEADER
			mw, mh, ok := av1MaxFrameSize(obu)
			if !ok {
				return 0, corrupt("", "an AV1 sequence header is cut short")
			}
			if mw > uint64(w)+maxCodedSlack || mh > uint64(h)+maxCodedSlack {
				return 0, codedTooLarge(mw, mh, w, h)
			}
		case 3, 6: // OBU_FRAME_HEADER, OBU_FRAME
			frames++
		}
	}
	return frames, nil
}

// leb128 reads an unsigned LEB128 of at most 8 bytes; n is the bytes read, past the end of
// b (so that the caller's bounds check fails) when it is cut short or too long.
func leb128(b []byte) (v uint64, n int) {
	for i := 0; i < 8; i++ {
		if i >= len(b) {
			return 0, len(b) + 1
		}
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i]&0x80 == 0 {
			return v, i + 1
		}
	}
	return 0, len(b) + 1
}

// av1MaxFrameSize reads max_frame_width_minus_1 + 1 and max_frame_height_minus_1 + 1 from
// a sequence header OBU (AV1 5.5.1).
func av1MaxFrameSize(obu []byte) (w, h uint64, ok bool) {
	b := &bitReader{b: obu}
	b.skip(3) // seq_profile
	b.skip(1) // still_picture
	if b.u(1) == 1 {
		b.skip(5) // reduced_still_picture_header: seq_level_idx[0]
	} else {
		decoderModel, delayLen := false, 0
		if b.u(1) == 1 { // timing_info_present_flag
			b.skip(64)       // num_units_in_display_tick, time_scale
			if b.u(1) == 1 { // equal_picture_interval
				b.uvlc()
			}
			if decoderModel = b.u(1) == 1; decoderModel {
				delayLen = int(b.u(5)) + 1
				b.skip(32 + 5 + 5)
			}
		}
		initialDelay := b.u(1) == 1
		for range b.u(5) + 1 { // operating points
			b.skip(12) // operating_point_idc
			if b.u(5) > 7 {
				b.skip(1) // seq_tier
			}
			if decoderModel && b.u(1) == 1 {
				b.skip(2*delayLen + 1)
			}
			if initialDelay && b.u(1) == 1 {
				b.skip(4)
			}
		}
	}
	wb, hb := int(b.u(4))+1, int(b.u(4))+1
	w, h = b.u(wb)+1, b.u(hb)+1
	return w, h, !b.bad
}

// bitReader reads a bit string, most significant bit first; reading past the end sets bad.
type bitReader struct {
	b   []byte
	pos uint64
	bad bool
}

func (r *bitReader) u(n int) uint64 {
	var v uint64
	for range n {
		if r.pos >= uint64(len(r.b))*8 {
			r.bad = true
			return 0
		}
		v = v<<1 | uint64(r.b[r.pos/8]>>(7-r.pos%8)&1)
		r.pos++
	}
	return v
}

func (r *bitReader) skip(n int) {
	if r.pos += uint64(n); r.pos > uint64(len(r.b))*8 {
		r.bad = true
	}
}

// ue reads an Exp-Golomb code (H.265 9.2); one of more than 32 bits is refused.
func (r *bitReader) ue() uint64 {
	zeros := 0
	for r.u(1) == 0 && !r.bad {
		if zeros++; zeros > 32 {
			r.bad = true
			return 0
		}
	}
	return 1<<zeros - 1 + r.u(zeros)
}

// uvlc reads AV1's variable-length code (4.10.3), stopping after 32 leading zeros as dav1d
// does.
func (r *bitReader) uvlc() uint64 {
	zeros := 0
	for r.u(1) == 0 && !r.bad {
		if zeros++; zeros == 32 {
			return 1<<32 - 1
		}
	}
	return 1<<zeros - 1 + r.u(zeros)
}
