package github_test

import (
	"strings"
	"testing"

	"github.com/release-bot/release-bot/internal/github"
)

// cut is a name as GitHub shows it: at most 100 characters, the last three "...".
func cut(name string) string {
	if r := []rune(name); len(r) > 100 {
		return string(r[:97]) + "..."
	}
	return name
}

func TestMatchLegs(t *testing.T) {
	long := strings.Repeat("x", 80)
	for _, tc := range []struct {
		name      string
		jobs      []string
		services  []string
		want      map[string]string // service → job name
		unmatched []string
	}{
		{"default names", []string{"deploy (saver)", "deploy (web)"}, []string{"web", "saver"},
			map[string]string{"saver": "deploy (saver)", "web": "deploy (web)"}, nil},
		{"cyber-dojo's names", []string{"Prod apply saver", "Prod apply web"}, []string{"saver", "web"},
			map[string]string{"saver": "Prod apply saver", "web": "Prod apply web"}, nil},
		{"a reusable workflow", []string{"promote / deploy (saver)"}, []string{"saver"},
			map[string]string{"saver": "promote / deploy (saver)"}, nil},
		{"web is not web-socket", []string{"deploy (web-socket)", "deploy (web)"}, []string{"web", "web-socket"},
			map[string]string{"web": "deploy (web)", "web-socket": "deploy (web-socket)"}, nil},
		{"only web-socket", []string{"deploy (web-socket)"}, []string{"web"},
			map[string]string{}, []string{"deploy (web-socket)"}},
		{"the longest service wins", []string{"deploy (custom start points)", "deploy (start points)"}, []string{"start points", "custom start points"},
			map[string]string{"custom start points": "deploy (custom start points)", "start points": "deploy (start points)"}, nil},
		{"a default matrix name", []string{"deploy (saver, 244531986313.dkr.ecr.eu-central-1.amazonaws.com/saver:4c5d6e7@sha256:0f80)"}, []string{"saver"},
			map[string]string{"saver": "deploy (saver, 244531986313.dkr.ecr.eu-central-1.amazonaws.com/saver:4c5d6e7@sha256:0f80)"}, nil},
		{"an image path is not a name", []string{"snyk-scan (3549, 244531986313.dkr.ecr.eu-central-1.amazonaws.com/saver:4c5d6e7)"}, []string{"saver"},
			map[string]string{}, []string{"snyk-scan (3549, 244531986313.dkr.ecr.eu-central-1.amazonaws.com/saver:4c5d6e7)"}},
		{"setup jobs are reported", []string{"setup", "find-promotions", "deploy (saver)"}, []string{"saver"},
			map[string]string{"saver": "deploy (saver)"}, []string{"setup", "find-promotions"}},
		{"cut after the service", []string{cut("deploy (saver) " + long + long)}, []string{"saver"},
			map[string]string{"saver": cut("deploy (saver) " + long + long)}, nil},
		{"cut through the service", []string{cut(long + " deploy saver-with-a-long-name")}, []string{"saver-with-a-long-name", "saver"},
			map[string]string{}, []string{cut(long + " deploy saver-with-a-long-name")}},
		{"cut right at the end of the service", []string{cut(strings.Repeat("y", 90) + " saver-2 more")}, []string{"saver"},
			map[string]string{}, []string{cut(strings.Repeat("y", 90) + " saver-2 more")}},
		{"two jobs show one service", []string{"approve (saver)", "deploy (saver)", "deploy (web)"}, []string{"saver", "web"},
			map[string]string{"web": "deploy (web)"}, []string{"approve (saver)", "deploy (saver)"}},
		{"one job shows two services", []string{"deploy (saver) and (differ)"}, []string{"saver", "differ"},
			map[string]string{}, []string{"deploy (saver) and (differ)"}},
		{"case matters", []string{"deploy (Saver)"}, []string{"saver"}, map[string]string{}, []string{"deploy (Saver)"}},
		{"cyber-dojo's workflow", []string{"setup", "find-promotions", cyberDojoDefault("snyk-scan"), cyberDojoDefault("approve"),
			"Prod apply nginx / terraform"}, []string{"nginx"},
			map[string]string{"nginx": "Prod apply nginx / terraform"},
			[]string{"setup", "find-promotions", cyberDojoDefault("snyk-scan"), cyberDojoDefault("approve")}},
		{"no jobs yet", nil, []string{"saver"}, map[string]string{}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			jobs := make([]github.Job, len(tc.jobs))
			for i, n := range tc.jobs {
				jobs[i] = github.Job{ID: int64(i + 1), Name: n}
			}
			legs, unmatched := github.MatchLegs(jobs, tc.services)
			got := map[string]string{}
			for s, j := range legs {
				got[s] = j.Name
			}
			if !equalStrings(got, tc.want) {
				t.Errorf("legs = %v, want %v", got, tc.want)
			}
			var names []string
			for _, u := range unmatched {
				if u.Reason == "" {
					t.Errorf("%q unmatched without a reason", u.Job.Name)
				}
				names = append(names, u.Job.Name)
			}
			if strings.Join(names, "|") != strings.Join(tc.unmatched, "|") {
				t.Errorf("unmatched = %q, want %q", names, tc.unmatched)
			}
		})
	}
}

// cyberDojoDefault is the name GitHub gives a matrix job of cyber-dojo's
// workflow that has no name of its own: the job id and the item's values, cut.
func cyberDojoDefault(job string) string {
	return cut(job + " (aws-beta#4754, https://app.kosli.com/cyber-dojo/environments/aws-beta/snapshots/4754?fingerprint=" +
		"0fd1eae4a2ab75d4d08106f86af3945a9e95b60693a4b9e4e44b59cc5887fdd1, 244531986313.dkr.ecr.eu-central-1.amazonaws.com/nginx:fa32058, nginx)")
}

func equalStrings(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
