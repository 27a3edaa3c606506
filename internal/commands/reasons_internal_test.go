package commands

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/release-bot/release-bot/internal/release"
)

// TestReasonModalsAskWithinSlacksLimits: every reason modal has Slack stop
// the reason between minReason and maxReason characters, and its title and
// submit fit Slack's 24 characters (reference/slack.md, modal).
func TestReasonModalsAskWithinSlacksLimits(t *testing.T) {
	r := &release.Release{ID: "prod-2026-11-24-1", ManifestDigest: "sha256:" + strings.Repeat("0", 64)}
	for id, ask := range reasonAsks {
		v := ReasonModal(ask, r)
		raw, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{`"min_length":3`, `"max_length":500`, `"callback_id":"` + id + `"`, `"private_metadata":"` + releaseValue(r) + `"`} {
			if !strings.Contains(string(raw), want) {
				t.Errorf("%s: modal lacks %s: %s", id, want, raw)
			}
		}
		for what, s := range map[string]string{"title": v.Title.Text, "submit": v.Submit.Text, "close": v.Close.Text} {
			if n := utf8.RuneCountInString(s); n == 0 || n > 24 {
				t.Errorf("%s: %s %q has %d characters, want 1 to 24", id, what, s, n)
			}
		}
	}
}

func TestCheckReason(t *testing.T) {
	for _, tc := range []struct {
		typed, want string
		ok          bool
	}{
		{"", "", false},
		{"  ab \n", "ab", false},
		{" abc ", "abc", true},
		{strings.Repeat("é", 500), strings.Repeat("é", 500), true},
		{strings.Repeat("é", 501), strings.Repeat("é", 501), false},
	} {
		got, problem := checkReason(tc.typed)
		if got != tc.want || (problem == "") != tc.ok {
			t.Errorf("checkReason(%q) = %q, %q; want %q, ok %v", tc.typed, got, problem, tc.want, tc.ok)
		}
	}
}
