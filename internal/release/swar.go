package release

// Word-at-a-time scanning for the two hot loops of `bot plan`: finding where
// a JSON string needs attention (decoding) or escaping (encoding). Eight
// bytes are tested at once; a word that may hold a special byte is resolved
// byte by byte, so a false alarm costs speed, never correctness.

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// hasZeroByte reports whether some byte of w is zero (no false negatives).
func hasZeroByte(w uint64) bool { return (w-ones)&^w&highs != 0 }

// mayNeedAttention reports whether some byte of w is '"', '\\', below 0x20,
// or 0x7f and above (0x7f only when del is true).
func mayNeedAttention(w uint64, del bool) bool {
	if w&highs != 0 || (w-ones*0x20)&^w&highs != 0 {
		return true
	}
	if hasZeroByte(w^(ones*'"')) || hasZeroByte(w^(ones*'\\')) {
		return true
	}
	return del && hasZeroByte(w^(ones*0x7f))
}

func load64(s string, i int) uint64 {
	_ = s[i+7]
	return uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
		uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
}

// plainRun returns the index, from i, of the first byte of s that is '"',
// '\\', a control character, or non-ASCII (0x7f too when del), or len(s).
func plainRun(s string, i int, del bool) int {
	for ; i+8 <= len(s); i += 8 {
		if mayNeedAttention(load64(s, i), del) {
			break
		}
	}
	for ; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' || c == '\\' || c >= 0x80 || (del && c == 0x7f) {
			return i
		}
	}
	return i
}
