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
		{"deploy prod", "I don't know `deploy`"},
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
