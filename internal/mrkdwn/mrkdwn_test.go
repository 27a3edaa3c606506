package mrkdwn

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEscape(t *testing.T) {
	if got, want := Escape("<!channel> & <https://evil.example|click>"), "&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;"; got != want {
		t.Errorf("Escape = %q; want %q", got, want)
	}
}

func TestList(t *testing.T) {
	var names []string
	for i := range 200 {
		names = append(names, fmt.Sprintf("<svc-%03d>", i))
	}
	got := List(names, 20)
	if !strings.HasPrefix(got, "&lt;svc-000&gt;, ") || !strings.HasSuffix(got, "&lt;svc-019&gt; and 180 more") {
		t.Errorf("List(200, 20) = %q", got)
	}
	if got := List(names[:2], 20); got != "&lt;svc-000&gt;, &lt;svc-001&gt;" {
		t.Errorf("List(2, 20) = %q", got)
	}
}

// Truncate never leaves an unclosed link, entity or * / ` pair, whatever the
// cut, and never exceeds n runes.
func TestTruncateAtEveryLength(t *testing.T) {
	s := "a *b* `c` <https://x.example/p|label> &lt;!channel&gt; é " + strings.Repeat("<http://y|z> ", 3)
	for n := 2; n < utf8.RuneCountInString(s); n++ {
		got := Truncate(s, n)
		if utf8.RuneCountInString(got) > n {
			t.Fatalf("Truncate(s, %d) has %d runes", n, utf8.RuneCountInString(got))
		}
		if i := unclosedMarkup([]rune(strings.TrimSuffix(got, "…"))); i >= 0 {
			t.Errorf("Truncate(s, %d) = %q leaves markup open at %d", n, got, i)
		}
	}
}
