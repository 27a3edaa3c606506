package commands

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	ok := []struct {
		in   string
		want Request
	}{
		{"", Request{Verb: VerbHelp}},
		{"   ", Request{Verb: VerbHelp}},
		{"help", Request{Verb: VerbHelp}},
		{"HELP", Request{Verb: VerbHelp}},
		{"diff", Request{Verb: VerbDiff}},
		{"diff prod", Request{Verb: VerbDiff, Pipeline: "prod"}},
		{"  diff\u00a0 prod ", Request{Verb: VerbDiff, Pipeline: "prod"}},
		{"propose", Request{Verb: VerbPropose}},
		{"propose prod saver, web saver", Request{Verb: VerbPropose, Pipeline: "prod", Services: []string{"saver", "web"}}},
		{"status prod-2026-11-24-3", Request{Verb: VerbStatus, ReleaseID: "prod-2026-11-24-3"}},
		{"cancel prod", Request{Verb: VerbCancel, Pipeline: "prod"}},
		{"list", Request{Verb: VerbList}},
		{"drift prod", Request{Verb: VerbDrift, Pipeline: "prod"}},
		{"freeze 2h incident 42", Request{Verb: VerbFreeze, FreezeFor: 2 * time.Hour, Reason: "incident 42"}},
		{"freeze prod 1d  db  migration", Request{Verb: VerbFreeze, Pipeline: "prod", FreezeFor: 24 * time.Hour, Reason: "db migration"}},
		{"freeze prod until 2026-12-27T09:00:00+01:00 holidays", Request{Verb: VerbFreeze, Pipeline: "prod",
			FreezeUntil: time.Date(2026, 12, 27, 8, 0, 0, 0, time.UTC).In(time.FixedZone("", 3600)), Reason: "holidays"}},
		{"freeze UNTIL 2026-12-27T09:00:00Z holidays", Request{Verb: VerbFreeze, FreezeUntil: time.Date(2026, 12, 27, 9, 0, 0, 0, time.UTC), Reason: "holidays"}},
		{"unfreeze", Request{Verb: VerbUnfreeze}},
		{"unfreeze prod", Request{Verb: VerbUnfreeze, Pipeline: "prod"}},
		{"mute", Request{Verb: VerbMute}},
		{"Mute prod", Request{Verb: VerbMute, Pipeline: "prod"}},
		{"unmute prod", Request{Verb: VerbUnmute, Pipeline: "prod"}},
		{"propose --break-glass login is down", Request{Verb: VerbPropose, BreakGlass: true, Reason: "login is down"}},
		{"rollback", Request{Verb: VerbRollback}},
		{"rollback prod", Request{Verb: VerbRollback, Pipeline: "prod"}},
		{"rollback prod-2026-11-24-3", Request{Verb: VerbRollback, ReleaseID: "prod-2026-11-24-3"}},
		{"rollback prod prod-2026-11-24-3", Request{Verb: VerbRollback, Pipeline: "prod", ReleaseID: "prod-2026-11-24-3"}},
		{"rollback prod —break-glass checkout fails", Request{Verb: VerbRollback, Pipeline: "prod", BreakGlass: true, Reason: "checkout fails"}},
		{"rollback prod-2026-11-24-3 --ticket CHG7", Request{Verb: VerbRollback, ReleaseID: "prod-2026-11-24-3", Ticket: "CHG7"}},
		{"rollback --ticket=CHG7 --break-glass checkout fails", Request{Verb: VerbRollback, Ticket: "CHG7", BreakGlass: true, Reason: "checkout fails"}},
		{"propose prod web --break-glass CVE-2026-1", Request{Verb: VerbPropose, Pipeline: "prod", Services: []string{"web"}, BreakGlass: true, Reason: "CVE-2026-1"}},
		// Slack's smart punctuation turns -- into an em dash.
		{"propose \u2014break-glass outage", Request{Verb: VerbPropose, BreakGlass: true, Reason: "outage"}},
		{"propose prod --ticket CHG123", Request{Verb: VerbPropose, Pipeline: "prod", Ticket: "CHG123"}},
		{"propose prod web --ticket=CHG9 nginx", Request{Verb: VerbPropose, Pipeline: "prod", Services: []string{"web", "nginx"}, Ticket: "CHG9"}},
		{"propose \u2014ticket CHG1 --break-glass --ticket is not read here", Request{Verb: VerbPropose, Ticket: "CHG1", BreakGlass: true, Reason: "--ticket is not read here"}},
	}
	for _, c := range ok {
		got, err := Parse(c.in)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	bad := []struct{ in, want string }{
		{"deploy prod", `I don't know "deploy"`},
		{"diff prod extra", "takes at most a pipeline name"},
		{"diff PROD!", "is not a pipeline name"},
		{"propose prod <script>", "is not a service name"},
		{"status what?", "is not a release id"},
		{"status a b", "takes at most a release id"},
		{"freeze", "Say for how long and why"},
		{"freeze prod", "Say for how long and why"},
		{"freeze 2h", "A freeze needs a reason"},
		{"freeze prod 2h", "A freeze needs a reason"},
		{"freeze 0h oops", `"0h" is not a duration: it must be greater than 0`},
		{"freeze 2x oops", `"2x" is not a duration`},
		{"freeze prod soon reason", `"soon" (after the pipeline name "prod") is not a duration`},
		{"freeze soon reason", `"reason" (after the pipeline name "soon") is not a duration`},
		{"freeze PROD! 2h why", "is not a pipeline name or a duration"},
		{"freeze until", "`until` needs a time"},
		{"freeze until tomorrow why", `"tomorrow" is not a time: it must be an RFC 3339 time`},
		{"freeze until 2026-12-27T09:00:00 why", "is not a time"},
		{"freeze 2h " + strings.Repeat("x", MaxReason+1), "keep it to 500"},
		{"unfreeze prod now", "takes at most a pipeline name"},
		{"mute prod please", "`/release mute` takes at most a pipeline name"},
		{"unmute PROD!", "is not a pipeline name"},
		{"propose --break-glass", "`--break-glass` needs a reason"},
		{"propose prod web --break-glass   ", "`--break-glass` needs a reason"},
		{"rollback prod-2026-11-24-3 prod", `"prod" is not a pipeline or a release id`},
		{"rollback prod-2026-11-24-3 prod-2026-11-24-4", `"prod-2026-11-24-4" is not a pipeline or a release id`},
		{"rollback a b c", "takes at most a pipeline and a release id"},
		{"rollback PROD!", "is not a pipeline or a release id"},
		{"rollback --break-glass", "`--break-glass` needs a reason"},
		{"rollback prod --ticket", "`--ticket` needs the change ticket"},
		{"propose prod --ticket", "`--ticket` needs the change ticket"},
		{"propose prod --ticket --break-glass down", "`--ticket` needs the change ticket"},
		{"propose prod --ticket=", "`--ticket` needs the change ticket"},
		{"propose --ticket CHG1 --ticket CHG2", "`--ticket` is given twice"},
	}
	for _, c := range bad {
		_, err := Parse(c.in)
		var u *UsageError
		if !errors.As(err, &u) || !strings.Contains(u.Text, c.want) || !strings.Contains(u.Text, "/release diff") {
			t.Errorf("Parse(%q) = %v; want a usage error containing %q", c.in, err, c.want)
		}
	}
}

// TestUsageEchoesAShortEscapedPrefix: whatever was typed, a usage reply
// shows at most maxEcho runes of it, with & < > escaped.
func TestUsageEchoesAShortEscapedPrefix(t *testing.T) {
	long := "<!channel>&" + strings.Repeat("x", 10_005)
	for _, in := range []string{
		long, "diff " + long, "diff prod " + long, "drift prod a " + long, "propose " + long, "propose prod " + long,
		"propose prod web " + long, "status " + long, "cancel prod " + long, "list " + long,
	} {
		_, err := Parse(in)
		var u *UsageError
		if !errors.As(err, &u) {
			t.Fatalf("Parse(%.30q…) = %v; want a usage error", in, err)
		}
		echoed := strings.TrimSuffix(u.Text, "\n\n"+Usage)
		if n := len([]rune(echoed)); n > 120 {
			t.Errorf("Parse(%.30q…): %d runes echoed: %.200s", in, n, echoed)
		}
		if strings.Contains(echoed, "<!channel>") || strings.Contains(echoed, "&amp;amp;") || !strings.Contains(echoed, "&lt;!channel&gt;&amp;") {
			t.Errorf("Parse(%.30q…): not escaped: %.200s", in, echoed)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "diff prod", "propose prod a b c", "status prod-2026-11-24-1", "cancel", "\u00a0\t", "zzz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
			var u *UsageError
			if !errors.As(err, &u) || u.Text == "" {
				t.Fatalf("non-usage error %v", err)
			}
			return
		}
		if r.Verb == "" {
			t.Fatalf("no verb for %q", s)
		}
	})
}
