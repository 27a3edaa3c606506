// Package mrkdwn writes text for Slack: every string from outside (Kosli,
// GitHub, people) goes through Escape before it reaches a field Slack renders,
// and every cut goes through Truncate, which never cuts inside markup.
package mrkdwn

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Escape escapes text for mrkdwn: Slack reads &, < and > as control characters.
func Escape(s string) string {
	if !strings.ContainsAny(s, "&<>") {
		return s
	}
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	return r.Replace(s)
}

// Truncate cuts s to at most n runes, marking the cut with "…". It never
// cuts inside markup: the cut backs off to before an unclosed <link|label>,
// an entity (&lt;) or an unpaired * or `, so what is left renders as meant.
func Truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)[:n-1]
	for {
		i := unclosedMarkup(r)
		if i < 0 {
			break
		}
		r = r[:i]
	}
	return string(r) + "…"
}

// unclosedMarkup returns where the first markup that r opens and does not
// close begins, or -1 when r ends on a safe boundary.
func unclosedMarkup(r []rune) int {
	angle, amp, tick, star := -1, -1, -1, -1
	for i, c := range r {
		switch {
		case angle >= 0:
			if c == '>' {
				angle = -1
			}
		case c == '<':
			angle = i
		case c == '&':
			amp = i
		case c == ';' || c == ' ':
			amp = -1
		case c == '`':
			if tick < 0 {
				tick = i
			} else {
				tick = -1
			}
		case c == '*' && tick < 0:
			if star < 0 {
				star = i
			} else {
				star = -1
			}
		}
	}
	if amp >= 0 && len(r)-amp > len("&amp;") {
		amp = -1 // a bare &, not the start of an entity
	}
	first := -1
	for _, i := range []int{angle, amp, tick, star} {
		if i >= 0 && (first < 0 || i < first) {
			first = i
		}
	}
	return first
}

// List names items, escaped and joined with ", ", at most max of them; the
// rest are counted: "a, b, c and 197 more".
func List(items []string, max int) string {
	if len(items) <= max {
		return Escape(strings.Join(items, ", "))
	}
	return fmt.Sprintf("%s and %d more", Escape(strings.Join(items[:max], ", ")), len(items)-max)
}
