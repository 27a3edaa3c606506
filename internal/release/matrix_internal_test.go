package release

import (
	"bytes"
	"testing"
	"unicode/utf8"
)

// FuzzPyStringParts: a commit's .snyk URL written from its pieces is the
// URL written whole, and so is any text split where characters start.
func FuzzPyStringParts(f *testing.F) {
	for _, s := range []string{
		"https://github.com/cyber-dojo/saver/commit/6e191a0a86cf3d264955c4910bc3b9df518c4bcd",
		"https://gitlab.com/cyber-dojo/creator/-/commit/63739c64c04437b29e3fe082d699fb757846e0f0",
		"https://ghe.example.com/o/r/commit/63739c64c04437b29e3fe082d699fb757846e0f0",
		"https://github.com/o/é\x01\"\\\xff😀/commit/63739c64c04437b29e3fe082d699fb757846e0f0",
		"https://gitlab.example.com/g/\xe2\x82/-/commit/abcdef0",
	} {
		f.Add(s, 3)
	}
	f.Fuzz(func(t *testing.T, s string, cut int) {
		c := ParseCommitURL(s)
		whole := appendPyString(nil, c.RawSnykPolicyURL())
		pieces := c.rawSnykPolicyParts()
		if parts := appendPyString(nil, pieces[:]...); !bytes.Equal(parts, whole) {
			t.Fatalf("%q: pieces give %s, whole %s", s, parts, whole)
		}
		if cut < 0 || cut > len(s) {
			return
		}
		for cut > 0 && cut < len(s) && !utf8.RuneStart(s[cut]) {
			cut--
		}
		if got, want := appendPyString(nil, s[:cut], s[cut:]), appendPyString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("%q cut at %d: %s, want %s", s, cut, got, want)
		}
	})
}
