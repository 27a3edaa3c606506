package main

import (
	"context"
	"strings"
	"testing"

	"github.com/release-bot/release-bot/internal/config"
	"github.com/release-bot/release-bot/internal/github/githubtest"
	"github.com/release-bot/release-bot/internal/release"
)

// withBreakGlass runs the ship pipeline with break_glass set as given (a
// flow mapping's inside, e.g. `allowed: ["U0ALICE0001"], required: 0`).
func withBreakGlass(t *testing.T, breakGlass string) botOption {
	t.Helper()
	yaml := strings.Replace(shipConfig, "TIMEOUT", "2h", 1) + "    break_glass: { " + breakGlass + " }\n"
	cfg, err := config.Parse("ship.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return func(o *serveOptions) { o.Config = cfg }
}

func TestBreakGlassRefusals(t *testing.T) {
	b := startBot(t, "2")
	b.command(alice, releaseChannel, "propose --break-glass login is down")
	b.ephemeral(releaseChannel, alice, "Pipeline `prod` allows no break-glass release")

	s := startShip(t, "2", githubtest.Workflow{}, shipSetup{}, withBreakGlass(t, `allowed: ["U0ALICE0001"], required: 0`))
	for _, tc := range []struct{ user, text, want string }{
		{bob, "propose --break-glass login is down", "Only <@" + alice + "> can propose a break-glass release of pipeline `prod`."},
		{dave, "propose --break-glass login is down", "Only <@" + alice + "> can propose a break-glass release"},
		{alice, "propose --break-glass", "`--break-glass` needs a reason"},
		{alice, "propose nope --break-glass down", "There is no pipeline called `nope`"},
	} {
		s.command(tc.user, releaseChannel, tc.text)
		s.ephemeral(releaseChannel, tc.user, tc.want)
	}
	if n := s.channelPosts(); n != 0 {
		t.Errorf("%d channel messages after refused break-glass proposals", n)
	}
	if list, err := s.store().List(context.Background(), "prod", 5); err != nil || len(list) != 0 {
		t.Errorf("releases after refusals: %d, %v", len(list), err)
	}
}

// TestBreakGlassShipsAtOnceThroughAFreeze: with required 0, a break-glass
// release by an allowed person ships while the pipeline is frozen; it is
// loud, the approvers are mentioned, and the manifest records it.
func TestBreakGlassShipsAtOnceThroughAFreeze(t *testing.T) {
	b := startShip(t, "2", githubtest.Workflow{}, shipSetup{}, withBreakGlass(t, `allowed: ["U0ALICE0001"], required: 0, review_within: 12h`))
	b.command(carol, releaseChannel, "freeze 4h change freeze")
	b.channelHas("froze pipeline `prod`")
	b.command(alice, releaseChannel, "propose")
	b.ephemeral(releaseChannel, alice, "In an emergency: `/release propose prod --break-glass <reason>`.")

	b.command(alice, releaseChannel, "propose --break-glass login <is> down")
	msg := b.releaseMessage()
	text := blocksText(t, msg.Blocks)
	if !strings.Contains(text, ":rotating_light: *EMERGENCY: break-glass release* by <@"+alice+">: login &lt;is&gt; down") ||
		!strings.Contains(msg.Text, "EMERGENCY break-glass release") {
		t.Errorf("not loud:\n%s\n%s", msg.Text, text)
	}
	b.threadHas(msg.TS, "<@"+carol+">: this break-glass release needs your review after the fact")
	b.threadHas(msg.TS, "Release succeeded")
	if n := len(b.gh.RequestsTo(githubtest.RouteDispatch)); n != 1 {
		t.Errorf("%d dispatches", n)
	}
	data, err := b.store().Manifest(context.Background(), releaseID(msg))
	if err != nil {
		t.Fatal(err)
	}
	m, err := release.VerifyManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	if m.BreakGlass == nil || m.BreakGlass.Reason != "login <is> down" || m.BreakGlass.RequestedBy != alice ||
		m.BreakGlass.ReviewDue.Sub(m.CreatedAt).Hours() != 12 {
		t.Errorf("manifest break glass %+v", m.BreakGlass)
	}
}

// TestBreakGlassWithAnApprovalIsNotHeldByTheFreeze: required 1, approved
// during a freeze, it is dispatched at once instead of waiting.
func TestBreakGlassWithAnApprovalIsNotHeldByTheFreeze(t *testing.T) {
	b := startShip(t, "2", githubtest.Workflow{}, shipSetup{}, withBreakGlass(t, `allowed: ["@release-managers"]`))
	b.command(carol, releaseChannel, "freeze 4h change freeze")
	b.channelHas("froze pipeline `prod`")
	b.command(bob, releaseChannel, "propose --break-glass CVE-2026-0001")
	msg := b.releaseMessage()
	if text := blocksText(t, msg.Blocks); !strings.Contains(text, "1 approval from <@"+carol+"> (break-glass)") {
		t.Errorf("rule:\n%s", text)
	}
	b.click(carol, msg.TS, "release_approve")
	b.threadHas(msg.TS, "Release succeeded")
	if n := b.threadCount(msg.TS, "waits"); n != 0 {
		t.Errorf("a break-glass release waited for the freeze")
	}
}
