package main

import (
	"strings"
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/config"
	"github.com/release-bot/release-bot/internal/kosli/kositest"
	"github.com/release-bot/release-bot/internal/release"
)

// TestSoakRefusesUntilEveryArtifactHasRun: with gate.min_soak 2h, propose
// refuses while web has run 73m in aws-beta (Kosli's most_recent_timestamp,
// as the fake diff serves it from the instances' start), naming each
// artifact's time left and when the release can go; nothing is posted. When
// the (fake) clock passes that moment, the release is proposed. The drift
// report says when web becomes eligible.
func TestSoakRefusesUntilEveryArtifactHasRun(t *testing.T) {
	t.Parallel()
	cfg, err := config.Parse("bot.yaml", []byte(e2eConfig+"    gate: { mode: enforce, min_soak: 2h }\n"))
	if err != nil {
		t.Fatal(err)
	}
	b := startBot(t, "", func(o *serveOptions) { o.Config = cfg })
	d := loadFixture(t, "2")
	now := b.clock.Now()
	for i := range d.Source.Artifacts {
		a := &d.Source.Artifacts[i]
		switch a.Flow {
		case "web-ci":
			a.MostRecentTimestamp = timestamp(now.Add(-73 * time.Minute))
		case "nginx-ci":
			a.MostRecentTimestamp = timestamp(now.Add(-5 * time.Hour))
		}
		for _, env := range []string{"aws-beta", "aws-prod"} {
			b.kosli.SetVerdict(a.Fingerprint, env, kositest.Verdict{Compliant: true})
		}
	}
	if err := b.kosli.LoadDiff("aws-beta", "aws-prod", d); err != nil {
		t.Fatal(err)
	}

	b.command(alice, releaseChannel, "propose")
	p := b.ephemeral(releaseChannel, alice, "No release yet: every artifact must run 2h in aws-beta first")
	for _, want := range []string{"• web: 47m more in aws-beta", "It can go <!date^", "(in 47m)."} {
		if !strings.Contains(p.Text, want) {
			t.Errorf("refusal lacks %q: %s", want, p.Text)
		}
	}
	if strings.Contains(p.Text, "nginx") {
		t.Errorf("nginx has soaked 5h, yet is named: %s", p.Text)
	}
	if n := b.channelPosts(); n != 0 {
		t.Errorf("a soaking propose posted %d messages", n)
	}
	b.command(alice, releaseChannel, "drift")
	drift := blocksText(t, b.channelHas("Drift report").Blocks)
	if !strings.Contains(drift, ":hourglass_flowing_sand: soaking: eligible <!date^") || !strings.Contains(drift, "(47m more)") {
		t.Errorf("the drift report does not say when web is eligible:\n%s", drift)
	}
	if n := strings.Count(drift, "soaking: eligible"); n != 1 {
		t.Errorf("%d soaking lines, want 1 (nginx has soaked):\n%s", n, drift)
	}
	b.clock.Advance(48 * time.Minute)
	b.command(alice, releaseChannel, "propose")
	b.releaseMessage()
}

func timestamp(t time.Time) release.Timestamp { return release.Timestamp(t.Unix()) }
