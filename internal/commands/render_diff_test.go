package commands

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/release/releasetest"
)

var testNow = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

var testLinks = release.Links{Host: "https://app.kosli.com", Org: "cyber-dojo"}

func fixturePlan(t *testing.T, name string) *release.Plan {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("../../testdata/cyber-dojo-promotions/diff-snapshots", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := release.ParseDiff(data)
	if err != nil {
		t.Fatal(err)
	}
	p := release.Compute(&d, release.PlanOptions{Links: testLinks, Now: testNow})
	return &p
}

// generatedPlan is a plan of exactly n promotions from the generated diff.
func generatedPlan(n int) release.Plan {
	p := release.Compute(releasetest.GenerateDiff(n*3), release.PlanOptions{Links: testLinks, Now: testNow})
	p.Promotions = p.Promotions[:n]
	return p
}

func TestDiffMessagesGolden(t *testing.T) {
	noProvenance := fixturePlan(t, "2")
	noProvenance.Blockers = append(noProvenance.Blockers, release.Blocker{Kind: release.NoProvenance, SnapshotID: "aws-beta#4754",
		ImageName: "244531986313.dkr.ecr.eu-central-1.amazonaws.com/debug-shell:latest", Fingerprint: "9f2c1e0d4b5a69788776655443322110ffeeddccbbaa99887766554433221100"})
	big := generatedPlan(60)
	cases := map[string]*release.Plan{
		"diff-nothing":                  fixturePlan(t, "0"),
		"diff-2-services":               fixturePlan(t, "2"),
		"diff-new-service":              fixturePlan(t, "new-flow"),
		"diff-60-services":              &big,
		"diff-blocker-deployment":       fixturePlan(t, "blue-green-aws-beta"),
		"diff-blocker-repo-changed":     fixturePlan(t, "different-repo-urls"),
		"diff-blocker-no-provenance":    noProvenance,
		"diff-repo-moved-between-hosts": fixturePlan(t, "migrated-gitlab-to-github"),
	}
	for name, p := range cases {
		t.Run(name, func(t *testing.T) {
			msgs := DiffMessages(DiffView{Pipeline: "prod", Plan: p, Links: testLinks})
			checkLimits(t, msgs)
			golden(t, name, msgs)
		})
	}
	t.Run("diff-frozen", func(t *testing.T) {
		msgs := DiffMessages(DiffView{Pipeline: "prod", Plan: fixturePlan(t, "2"), Links: testLinks, Freeze: &testFreeze})
		checkLimits(t, msgs)
		golden(t, "diff-frozen", msgs)
	})
}

// testFreeze is a configured window with another open beside it, ending a
// day after testNow.
var testFreeze = release.Freeze{
	Window: release.FreezeWindow{Name: "year end", Reason: "books close <on> 31 Dec & the auditors look"},
	Since:  testNow.Add(-time.Hour), Until: testNow.Add(24 * time.Hour), Others: 1,
}

func TestDiffMessagesSplitAndKeepEveryService(t *testing.T) {
	for _, n := range []int{60, 300, 2000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			p := generatedPlan(n)
			msgs := DiffMessages(DiffView{Pipeline: "prod", Plan: &p, Links: testLinks})
			checkLimits(t, msgs)
			all, err := json.Marshal(msgs)
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) > maxDiffMessages {
				t.Errorf("%d services in %d messages: a channel flooded", n, len(msgs))
			}
			listed := 0
			for i := range p.Promotions {
				if strings.Contains(string(all), "*"+p.Promotions[i].Service+"*") {
					listed++
				}
			}
			if n <= 60 && listed != n {
				t.Fatalf("%d of %d services listed", listed, n)
			}
			if listed < n && !strings.Contains(string(all), fmt.Sprintf("and %d more", n-listed)) {
				t.Fatalf("%d listed of %d, and no note of the rest", listed, n)
			}
		})
	}
}
