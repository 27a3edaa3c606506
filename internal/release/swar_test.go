package release

import "testing"

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
