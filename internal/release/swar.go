package release

import "math/bits"

// Word-at-a-time scanning for the two hot loops of `bot plan`: finding where
// a JSON string needs attention (decoding) or escaping (encoding). Eight
// bytes are tested at once, without a branch per test, and the first byte
// that needs attention is found from the word's mask.

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// attention marks, in the high bit of each byte, the bytes of w that are
// '"', '\\', below 0x20, or 0x80 and above (0x7f too when del). The lowest
// mark is exact; marks above it may be false (a borrow carries upward from
// a marked byte), so only the lowest is to be trusted.
func attention(w uint64, del bool) uint64 {
	m := (w - ones*0x20) | (w ^ ones*'"' - ones) | (w ^ ones*'\\' - ones)
	if del {
		m |= w ^ ones*0x7f - ones
	}
	return (m&^w | w) & highs
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
		if m := attention(load64(s, i), del); m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	if i == len(s) {
		return i
	}
	if len(s) >= 8 {
		// The k bytes left are the top of the last word: shift them down.
		// The zero bytes shifted in are marked, but at k or above.
		k := len(s) - i
		if m := attention(load64(s, len(s)-8)>>(8*(8-k)), del); m != 0 {
			if p := bits.TrailingZeros64(m) / 8; p < k {
				return i + p
			}
		}
		return len(s)
	}
	for ; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' || c == '\\' || c >= 0x80 || (del && c == 0x7f) {
			return i
		}
	}
	return i
}
