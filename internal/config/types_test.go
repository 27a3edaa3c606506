package config_test

import (
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/config"
)

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		str  string
	}{
		{"90d", 90 * 24 * time.Hour, "90d"},
		{"24h", 24 * time.Hour, "1d"},
		{"90m", 90 * time.Minute, "1h30m0s"},
		{"1.5h", 90 * time.Minute, "1h30m0s"},
		{" 7d ", 7 * 24 * time.Hour, "7d"},
		{"1500ms", 1500 * time.Millisecond, "1.5s"},
	} {
		d, err := config.ParseDuration(tc.in)
		if err != nil || d.Duration() != tc.want || d.String() != tc.str {
			t.Errorf("ParseDuration(%q) = %v (%s), %v; want %v (%s)", tc.in, d.Duration(), d, err, tc.want, tc.str)
		}
		if back, err := config.ParseDuration(d.String()); err != nil || back != d {
			t.Errorf("%q does not read back: %v, %v", d, back, err)
		}
	}
	for in, want := range map[string]string{
		"":                "must not be empty",
		"0":               `must be greater than 0, not "0"`,
		"0d":              `must be greater than 0, not "0d"`,
		"-5m":             `must be greater than 0, not "-5m"`,
		"1d12h":           `must be a duration such as 90m, 24h or 7d, not "1d12h"`,
		"1.5d":            `must be a duration such as 90m, 24h or 7d, not "1.5d"`,
		"7 days":          `must be a duration such as 90m, 24h or 7d, not "7 days"`,
		"106752d":         `is too long: "106752d"`,
		"99999999999999d": `is too long: "99999999999999d"`,
	} {
		if _, err := config.ParseDuration(in); err == nil || err.Error() != want {
			t.Errorf("ParseDuration(%q) error = %v, want %q", in, err, want)
		}
	}
}

func TestParseApprover(t *testing.T) {
	for in, want := range map[string]config.Approver{
		"U0123ABCD":         {UserID: "U0123ABCD"},
		"W0123ABCD":         {UserID: "W0123ABCD"},
		"@release-managers": {Handle: "release-managers"},
		"@qa.team_1":        {Handle: "qa.team_1"},
	} {
		got, err := config.ParseApprover(in)
		if err != nil || got != want || got.String() != in {
			t.Errorf("ParseApprover(%q) = %+v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "@", "@-x", "@Release", "u0123", "U", "S0123ABCD", "<@U0123ABCD>", "release-managers"} {
		if _, err := config.ParseApprover(in); err == nil {
			t.Errorf("ParseApprover(%q) accepted it", in)
		}
	}
}

func TestParseRepoAndChannel(t *testing.T) {
	if r, err := config.ParseRepo("cyber-dojo/aws-prod-co-promotion"); err != nil || r.Owner != "cyber-dojo" || r.String() != "cyber-dojo/aws-prod-co-promotion" {
		t.Errorf("ParseRepo = %+v, %v", r, err)
	}
	for _, in := range []string{"", "cyber-dojo", "a/b/c", "/x", "x/", "-x/y", "x/..", "x/a b"} {
		if _, err := config.ParseRepo(in); err == nil {
			t.Errorf("ParseRepo(%q) accepted it", in)
		}
	}
	for _, in := range []string{"C0123456789", "G01234567", "C12345678"} {
		if _, err := config.ParseChannelID(in); err != nil {
			t.Errorf("ParseChannelID(%q): %v", in, err)
		}
	}
	for _, in := range []string{"#releases", "releases", "D0123456789", "c0123456789", "C1234567"} {
		if _, err := config.ParseChannelID(in); err == nil {
			t.Errorf("ParseChannelID(%q) accepted it", in)
		}
	}
}

func TestParseSchedule(t *testing.T) {
	utc := time.Date(2026, time.March, 2, 10, 0, 0, 0, time.UTC) // a Monday
	for spec, want := range map[string]time.Time{
		"0 9 * * 1-5":                     utc.Add(23 * time.Hour),
		"TZ=America/New_York 0 9 * * *":   utc.Add(4 * time.Hour), // 09:00 EST = 14:00 UTC
		"@hourly":                         utc.Add(time.Hour),
		"CRON_TZ=Asia/Tokyo @daily":       utc.Add(5 * time.Hour), // midnight JST = 15:00 UTC
		"@every 6h":                       utc.Add(6 * time.Hour),
		"0 0 29 2 *":                      time.Date(2028, time.February, 29, 0, 0, 0, 0, time.UTC),
		"  CRON_TZ=UTC   30 10 * * MON  ": utc.Add(30 * time.Minute),
	} {
		s, err := config.ParseSchedule(spec)
		if err != nil {
			t.Errorf("ParseSchedule(%q): %v", spec, err)
			continue
		}
		if got := s.Next(utc); !got.Equal(want) {
			t.Errorf("%q: Next = %v, want %v", spec, got.UTC(), want)
		}
	}
	for _, spec := range []string{"", "TZ=", "TZ=Europe/London", "CRON_TZ= 0 9 * * *", "TZ=Local 0 9 * * *",
		"TZ=UTC TZ=UTC 0 9 * * *", "@every", "@everyday", "@every 1s", "@every -1h", "@reboot", "0 9 * *", "0 0 31 4 *"} {
		if _, err := config.ParseSchedule(spec); err == nil {
			t.Errorf("ParseSchedule(%q) accepted it", spec)
		}
	}
	var zero config.Schedule
	if !zero.IsZero() || !zero.Next(utc).IsZero() || zero.Location() != time.UTC {
		t.Error("the zero Schedule is not inert")
	}
}
