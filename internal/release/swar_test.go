package release

import (
	"math/rand/v2"
	"testing"
)

// TestPlainRunMatchesByteLoop checks the word-at-a-time scan against the
// obvious byte loop for every byte value in every position of a word.
func TestPlainRunMatchesByteLoop(t *testing.T) {
	slow := func(s string, del bool) int {
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c < 0x20 || c == '"' || c == '\\' || c >= 0x80 || (del && c == 0x7f) {
				return i
			}
		}
		return len(s)
	}
	base := []byte("abcdefghijklmnopqrstuvwxyz0123456789")
	for _, del := range []bool{false, true} {
		for pos := 0; pos < 20; pos++ {
			for c := 0; c < 256; c++ {
				b := append([]byte(nil), base...)
				b[pos] = byte(c)
				s := string(b)
				if got, want := plainRun(s, 0, del), slow(s, del); got != want {
					t.Fatalf("plainRun(%q, del=%v) = %d, want %d", s, del, got, want)
				}
			}
		}
	}
}

// TestPlainRunRandom checks plainRun against the byte loop on random strings
// of every short length with several special bytes, from every start.
func TestPlainRunRandom(t *testing.T) {
	slow := func(s string, i int, del bool) int {
		for ; i < len(s); i++ {
			c := s[i]
			if c < 0x20 || c == '"' || c == '\\' || c >= 0x80 || (del && c == 0x7f) {
				return i
			}
		}
		return len(s)
	}
	special := []byte{0, 0x1f, 0x20, '"', '\\', 0x7f, 0x80, 0xff, 'a', '!', '#', '[', ']', '~'}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		b := make([]byte, r.IntN(40))
		for k := range b {
			if r.IntN(6) == 0 {
				b[k] = special[r.IntN(len(special))]
			} else {
				b[k] = byte('a' + r.IntN(26))
			}
		}
		s := string(b)
		for start := 0; start <= len(s); start++ {
			for _, del := range []bool{false, true} {
				if got, want := plainRun(s, start, del), slow(s, start, del); got != want {
					t.Fatalf("plainRun(%q, %d, del=%v) = %d, want %d", s, start, del, got, want)
				}
			}
		}
	}
}
