package commands

import (
	"errors"
	"reflect"
	"strings"
	"testing"
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
