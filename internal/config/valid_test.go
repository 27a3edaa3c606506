package config_test

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/config"
)

func load(t *testing.T, path string) *config.Config {
	t.Helper()
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatalf("Load(%s): %v", path, err)
	}
	return cfg
}

// equal compares configs; schedules are compared by their text, since
// parsed cron schedules and locations are not comparable values.
func equal(t *testing.T, got, want *config.Config) {
	t.Helper()
	schedules := func(c *config.Config) (specs []string) {
		for _, p := range c.Pipelines {
			if p.DriftReport != nil {
				specs = append(specs, p.DriftReport.Schedule.String())
				p.DriftReport.Schedule = config.Schedule{}
			}
			for i := range p.Freezes {
				specs = append(specs, p.Freezes[i].Start.String())
				p.Freezes[i].Start = config.Schedule{}
			}
		}
		return specs
	}
	if g, w := schedules(got), schedules(want); !reflect.DeepEqual(g, w) {
		t.Errorf("schedules = %q, want %q", g, w)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("config =\n%s\nwant\n%s", dump(got), dump(want))
	}
}

func dump(c *config.Config) string {
	s := fmt.Sprintf("%+v\n", c.Settings)
	for _, p := range c.Pipelines {
		s += fmt.Sprintf("  %+v workflow=%+v drift=%+v\n", *p, p.Workflow, p.DriftReport)
	}
	return s
}

func schedule(t *testing.T, spec string) config.Schedule {
	t.Helper()
	s, err := config.ParseSchedule(spec)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestValidMinimalTakesDefaults(t *testing.T) {
	got := load(t, "testdata/config/valid-minimal.yaml")
	want := &config.Config{
		Settings: config.Settings{Retention: config.Duration(90 * 24 * time.Hour), WorkingAfter: config.Duration(time.Second),
			Redis: config.Redis{MinReplicasAcked: -1, WaitTimeout: config.Duration(time.Second)}},
		Pipelines: []*config.Pipeline{{
			Name: "prod", From: "aws-beta", To: "aws-prod", Channel: "C0123456789",
			Approvals: config.Approvals{
				Required:         1,
				RollbackRequired: 1,
				Approvers:        []config.Approver{{UserID: "U0123ABCD"}},
				ExpireAfter:      config.Duration(24 * time.Hour),
				Nudges:           config.Nudges{Notify: config.NotifyDM},
			},
			Evidence: config.Evidence{Flow: "prod-release", Timeout: config.DefaultEvidenceTimeout},
			Verify:   config.Verify{Timeout: config.Duration(15 * time.Minute)},
			Gate:     config.GateEnforce,
		}},
	}
	equal(t, got, want)
}

func TestValidFullSetsEveryField(t *testing.T) {
	got := load(t, "testdata/config/valid-full.yaml")
	want := &config.Config{
		Settings: config.Settings{
			TeamID: "T0123ABCD", AppID: "A0123ABCD",
			Retention: config.Duration(30 * 24 * time.Hour), WorkingAfter: config.Duration(1500 * time.Millisecond),
			Redis: config.Redis{MinReplicasAcked: 2, WaitTimeout: config.Duration(500 * time.Millisecond)},
			Freezes: []config.Freeze{{Name: "year end", Reason: "books close",
				From: time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC), Until: time.Date(2027, 1, 2, 0, 0, 0, 0, time.FixedZone("", 3600))}},
		},
		Pipelines: []*config.Pipeline{{
			Name: "prod", From: "aws-beta", To: "aws-prod", Channel: "C0123456789",
			Approvals: config.Approvals{
				Required:          2,
				RollbackRequired:  1,
				Approvers:         []config.Approver{{Handle: "release-managers"}, {UserID: "U0123ABCD"}, {UserID: "W0456EFGH"}},
				AllowSelfApproval: true,
				ExpireAfter:       config.Duration(7 * 24 * time.Hour),
				Nudges: config.Nudges{Notify: config.NotifyChannel, RemindAfter: config.Duration(2 * time.Hour),
					EscalateAfter: config.Duration(8 * time.Hour), EscalateTo: []config.Approver{{Handle: "release-leads"}, {UserID: "U0999ZZZZ"}}},
			},
			Evidence: config.Evidence{Flow: "production-promotion", Control: "release-approved", Timeout: config.Duration(20 * time.Minute)},
			Workflow: &config.Workflow{
				Repo: config.Repo{Owner: "cyber-dojo", Name: "aws-prod-co-promotion"}, File: "promote.yml",
				Ref: "release/v2", Matrix: config.MatrixCyberDojo, Timeout: config.Duration(90 * time.Minute),
			},
			Verify: config.Verify{Timeout: config.Duration(20 * time.Minute)},
			Gate:   config.GateWarn,
			DriftReport: &config.DriftReport{
				Schedule:       schedule(t, "CRON_TZ=Europe/London 0 9 * * 1-5"),
				QuietWhenEmpty: true,
				StaleAfter:     config.Duration(48 * time.Hour),
			},
			Freezes: []config.Freeze{{Name: "weekend", Reason: "nobody on call",
				Start: schedule(t, "CRON_TZ=Europe/London 0 18 * * 5"), Duration: config.Duration(60 * time.Hour)}},
			BreakGlass: &config.BreakGlass{Allowed: []config.Approver{{Handle: "sre"}, {UserID: "U0123ABCD"}},
				Required: 0, ReviewWithin: config.Duration(12 * time.Hour)},
		}, {
			Name: "staging", From: "aws-dev", To: "aws-beta", Channel: "G0123456789",
			Approvals: config.Approvals{
				Required: 1, RollbackRequired: 1, Approvers: []config.Approver{{Handle: "qa.team_1"}}, ExpireAfter: config.Duration(24 * time.Hour),
				Nudges: config.Nudges{Notify: config.NotifyNone},
			},
			Evidence: config.Evidence{Flow: "staging-release", Timeout: config.DefaultEvidenceTimeout},
			Workflow: &config.Workflow{
				Repo: config.Repo{Owner: "cyber-dojo", Name: "aws-beta-promotion"}, File: "promote.yaml",
				Ref: "main", Matrix: config.MatrixDefault, Timeout: config.Duration(2 * time.Hour),
			},
			Verify:      config.Verify{Timeout: config.Duration(15 * time.Minute)},
			Gate:        config.GateEnforce,
			DriftReport: &config.DriftReport{Schedule: schedule(t, "@daily"), StaleAfter: config.Duration(72 * time.Hour)},
		}},
	}
	equal(t, got, want)
}

func TestValidAnchorsShareValues(t *testing.T) {
	cfg := load(t, "testdata/config/valid-anchors.yaml")
	if len(cfg.Pipelines) != 3 {
		t.Fatalf("got %d pipelines, want 3", len(cfg.Pipelines))
	}
	eu, us, staging := cfg.Pipelines[0], cfg.Pipelines[1], cfg.Pipelines[2]
	if us.Name != "prod-us" || us.To != "aws-prod-us" || us.From != "aws-beta" || us.Channel != eu.Channel {
		t.Errorf("merged pipeline = %+v, want prod-us taking from, channel from prod-eu", us)
	}
	if us.Workflow == nil || *us.Workflow != *eu.Workflow {
		t.Errorf("merged workflow = %+v, want %+v", us.Workflow, eu.Workflow)
	}
	for _, p := range []*config.Pipeline{eu, us, staging} {
		if p.Approvals.Required != 2 || len(p.Approvals.Approvers) != 1 || p.Approvals.Approvers[0].Handle != "release-managers" {
			t.Errorf("%s approvals = %+v, want the shared ones", p.Name, p.Approvals)
		}
	}
}

func TestLookups(t *testing.T) {
	cfg := load(t, "testdata/config/valid-anchors.yaml")
	if p, ok := cfg.Pipeline("prod-us"); !ok || p != cfg.Pipelines[1] {
		t.Errorf("Pipeline(prod-us) = %v, %v", p, ok)
	}
	if p, ok := cfg.Pipeline("nope"); ok || p != nil {
		t.Errorf("Pipeline(nope) = %v, %v", p, ok)
	}
	in := cfg.PipelinesInChannel("C0123456789")
	if len(in) != 3 || in[0].Name != "prod-eu" || in[2].Name != "staging" {
		t.Errorf("PipelinesInChannel = %v, want all three in file order", in)
	}
	if in := cfg.PipelinesInChannel("C999999999"); len(in) != 0 {
		t.Errorf("PipelinesInChannel(other) = %v", in)
	}
}

// TestScheduleAcrossDST checks that CRON_TZ=Europe/London keeps the report
// at 09:00 London time when the clocks go back (25 October 2026): 08:00 UTC
// before, 09:00 UTC after, across the weekend the schedule skips.
func TestScheduleAcrossDST(t *testing.T) {
	cfg := load(t, "testdata/config/valid-full.yaml")
	s := cfg.Pipelines[0].DriftReport.Schedule
	if s.String() != "CRON_TZ=Europe/London 0 9 * * 1-5" || s.Location().String() != "Europe/London" {
		t.Errorf("schedule = %q in %v", s, s.Location())
	}
	utc := func(day, hour, minute int) time.Time {
		return time.Date(2026, time.October, day, hour, minute, 0, 0, time.UTC)
	}
	for _, tc := range []struct{ from, want time.Time }{
		{utc(22, 8, 30), utc(23, 8, 0)},                                           // Thursday, BST: Friday 09:00 BST
		{utc(23, 8, 0), utc(26, 9, 0)},                                            // Friday's report: next is Monday 09:00 GMT
		{utc(25, 1, 30), utc(26, 9, 0)},                                           // during the change
		{utc(26, 9, 0), utc(27, 9, 0)},                                            // GMT from now on
		{utc(30, 10, 0), time.Date(2026, time.November, 2, 9, 0, 0, 0, time.UTC)}, // Friday after
	} {
		if got := s.Next(tc.from); !got.Equal(tc.want) {
			t.Errorf("Next(%v) = %v, want %v", tc.from, got.UTC(), tc.want)
		}
	}
}
