package commands

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/release"
)

// driftView is a report on plan p at testNow, stale after 72h, with every
// waiting artifact compliant in aws-prod unless verdicts say otherwise.
func driftView(p *release.Plan, verdicts ...release.Compliance) DriftView {
	v := DriftView{
		Pipeline: "prod", From: "aws-beta", To: "aws-prod", Plan: p, StaleAfter: 72 * time.Hour,
		Links: testLinks, At: testNow, Compliance: map[string]release.Compliance{},
	}
	if p != nil {
		for _, pr := range p.Promotions {
			v.Compliance[pr.Incoming.Fingerprint] = release.Compliance{Fingerprint: pr.Incoming.Fingerprint, Environment: "aws-prod", Compliant: true}
		}
	}
	for _, c := range verdicts {
		v.Compliance[c.Fingerprint] = c
	}
	return v
}

func TestDriftMessageGolden(t *testing.T) {
	waiting := fixturePlan(t, "2")
	waiting.Promotions[0].Waited = 4*24*time.Hour + 3*time.Hour // nginx: stale
	waiting.Promotions[1].Waited = 5 * time.Hour                // web: fresh, not compliant
	web := waiting.Promotions[1].Incoming.Fingerprint
	nonCompliant := release.Compliance{Fingerprint: web, Environment: "aws-prod", Failures: []string{"prod-policy: pull-request", "prod-policy: snyk-scan"}}

	unknown := driftView(waiting)
	delete(unknown.Compliance, web)

	noProvenance := fixturePlan(t, "2")
	noProvenance.Blockers = append(noProvenance.Blockers, release.Blocker{Kind: release.NoProvenance, SnapshotID: "aws-beta#4754",
		ImageName: "244531986313.dkr.ecr.eu-central-1.amazonaws.com/debug-shell:latest", Fingerprint: "9f2c1e0d4b5a69788776655443322110ffeeddccbbaa99887766554433221100"})

	open := driftView(waiting)
	open.Open = &release.Release{
		ID: "prod-2026-11-24-1", Pipeline: "prod", State: release.Proposed, Required: 2, Channel: "C0RELEASE01",
		Approvals: []release.Approval{{UserID: "U0BOB000001", At: testNow}},
		Evidence:  &release.Evidence{Flow: "prod-release", Trail: "prod-2026-11-24-1", URL: testLinks.Trail("prod-release", "prod-2026-11-24-1"), Items: reportRecorded},
	}

	failed := driftView(nil)
	failed.Problem = ":warning: Kosli did not answer in time, so I could not read aws-beta and aws-prod. Try again in a minute (ref `0badc0de`)."

	big := generatedPlan(60)
	for i := range big.Promotions {
		big.Promotions[i].Waited = time.Duration(i) * 7 * time.Hour
	}

	frozen := driftView(waiting)
	frozen.Freeze = &testFreeze

	cases := map[string]DriftView{
		"drift-frozen":                frozen,
		"drift-waiting":               driftView(waiting, nonCompliant),
		"drift-compliance-not-known":  unknown,
		"drift-blocker-deployment":    driftView(fixturePlan(t, "blue-green-aws-beta")),
		"drift-blocker-no-provenance": driftView(noProvenance),
		"drift-nothing":               driftView(fixturePlan(t, "0")),
		"drift-open-release":          open,
		"drift-kosli-failed":          failed,
		"drift-60-services":           driftView(&big),
	}
	for name, v := range cases {
		t.Run(name, func(t *testing.T) {
			msg, ok := DriftMessage(v)
			if !ok {
				t.Fatal("nothing to post")
			}
			checkLimits(t, []Message{msg})
			golden(t, name, msg)
		})
	}
}

func TestDriftMessageShapes(t *testing.T) {
	text := func(m Message) string {
		data, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	waiting := fixturePlan(t, "2")
	waiting.Promotions[0].Waited = 4*24*time.Hour + 3*time.Hour

	t.Run("quiet and empty posts nothing", func(t *testing.T) {
		v := driftView(fixturePlan(t, "0"))
		v.Quiet = true
		if msg, ok := DriftMessage(v); ok {
			t.Fatalf("a quiet empty report posts %+v", msg)
		}
	})
	t.Run("quiet with something waiting still posts", func(t *testing.T) {
		v := driftView(waiting)
		v.Quiet = true
		if _, ok := DriftMessage(v); !ok {
			t.Fatal("nothing posted")
		}
	})
	t.Run("stale flag and the button", func(t *testing.T) {
		msg, _ := DriftMessage(driftView(waiting))
		s := text(msg)
		for _, want := range []string{":rotating_light: waiting 4d 3h (over 72h)", `"action_id":"release_propose"`, `"value":"prod"`, `"block_id":"drift:prod:` + fmt.Sprint(testNow.Unix()) + `"`} {
			if !strings.Contains(s, want) {
				t.Errorf("report lacks %s:\n%s", want, s)
			}
		}
	})
	t.Run("no button on a blocked plan", func(t *testing.T) {
		msg, _ := DriftMessage(driftView(fixturePlan(t, "blue-green-aws-beta")))
		if s := text(msg); strings.Contains(s, "release_propose") || !strings.Contains(s, "Deployment in progress") {
			t.Errorf("blocked report:\n%s", s)
		}
	})
	t.Run("the longest wait first", func(t *testing.T) {
		p := fixturePlan(t, "2")
		p.Promotions[1].Waited = 9 * time.Hour
		p.Promotions[0].Waited = time.Hour
		s := text(must(DriftMessage(driftView(p))))
		if strings.Index(s, "*web*") > strings.Index(s, "*nginx*") {
			t.Errorf("nginx (1h) before web (9h):\n%s", s)
		}
	})
}

// With gate.min_soak 2h on the fake clock testNow, the line of web (run
// 73m) says exactly when it becomes eligible; nginx (run 3h) says nothing of
// a soak; a start Kosli does not give is said as not known.
func TestDriftMessageSaysWhenSoakingArtifactsBecomeEligible(t *testing.T) {
	t.Parallel()
	p := fixturePlan(t, "2")
	if p.Promotions[0].Service != "nginx" || p.Promotions[1].Service != "web" {
		t.Fatalf("fixture order %s, %s", p.Promotions[0].Service, p.Promotions[1].Service)
	}
	p.Promotions[0].Incoming.Since = testNow.Add(-3 * time.Hour)
	p.Promotions[1].Incoming.Since = testNow.Add(-73 * time.Minute)
	view := func() DriftView {
		v := driftView(p)
		v.Soaking = map[string]release.Soaking{}
		for _, s := range p.Soaking(2*time.Hour, testNow) {
			v.Soaking[s.Service] = s
		}
		return v
	}
	want := fmt.Sprintf(":hourglass_flowing_sand: soaking: eligible <!date^%d^{date_short_pretty} {time}|2026-11-24 09:47 UTC> (47m more)", testNow.Add(47*time.Minute).Unix())
	lines := strings.Split(allText(must(DriftMessage(view()))), "\n")
	seen := 0
	for _, line := range lines {
		switch {
		case strings.Contains(line, "*web*"):
			seen++
			if !strings.Contains(line, want) {
				t.Errorf("web's line lacks %q: %s", want, line)
			}
		case strings.Contains(line, "*nginx*"):
			seen++
			if strings.Contains(line, "soaking") {
				t.Errorf("nginx has soaked, yet: %s", line)
			}
		}
	}
	if seen != 2 {
		t.Fatalf("%d service lines, want 2:\n%s", seen, strings.Join(lines, "\n"))
	}
	p.Promotions[1].Incoming.Since = time.Time{}
	if s := allText(must(DriftMessage(view()))); !strings.Contains(s, ":hourglass_flowing_sand: soaking: start in aws-beta not known") {
		t.Errorf("unknown start not said:\n%s", s)
	}
}

func must(m Message, ok bool) Message {
	if !ok {
		panic("nothing to post")
	}
	return m
}

func TestDriftMessageManyServicesStayWithinLimits(t *testing.T) {
	for _, n := range []int{60, 300, 2000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			p := generatedPlan(n)
			msg, _ := DriftMessage(driftView(&p))
			checkLimits(t, []Message{msg})
			all, err := json.Marshal(msg)
			if err != nil {
				t.Fatal(err)
			}
			listed := 0
			for i := range p.Promotions {
				if strings.Contains(string(all), "*"+p.Promotions[i].Service+"*") {
					listed++
				}
			}
			if listed == 0 || (listed < n && !strings.Contains(string(all), fmt.Sprintf("and %d more waiting", n-listed))) {
				t.Fatalf("%d of %d listed, and no count of the rest", listed, n)
			}
			if !strings.Contains(string(all), "release_propose") {
				t.Fatal("the button was cut")
			}
		})
	}
}

// A quiet report with nothing waiting still names an overdue break-glass
// review: every report does, until it is reviewed.
func TestDriftMessageNamesOverdueReviewsEvenWhenQuiet(t *testing.T) {
	v := driftView(fixturePlan(t, "0"))
	v.Quiet = true
	if _, ok := DriftMessage(v); ok {
		t.Fatal("a quiet empty report was posted")
	}
	v.Overdue = []*release.Release{{ID: "prod-2026-11-20-1", BreakGlass: &release.BreakGlass{Reason: "outage <1>", By: "U0ALICE0001", ReviewDue: testNow.Add(-time.Hour)}}}
	msg, ok := DriftMessage(v)
	if !ok {
		t.Fatal("an overdue review was not reported")
	}
	checkLimits(t, []Message{msg})
	all, _ := json.Marshal(msg.Blocks)
	if !strings.Contains(string(all), "Break-glass review overdue*: `prod-2026-11-20-1`") || !strings.Contains(string(all), "outage \\u0026lt;1\\u0026gt;") {
		t.Errorf("blocks: %s", all)
	}
}
