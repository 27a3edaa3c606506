package main

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/release-bot/release-bot/internal/config"
	"github.com/release-bot/release-bot/internal/github/githubtest"
	"github.com/release-bot/release-bot/internal/kosli/kositest"
	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/slackbot/slacktest"
)

// Fixture 2: the release takes nginx e92d83d → fa32058 and web 7645ee7 →
// ed1878b from aws-beta#4754 to aws-prod#3548.
const (
	fpNginxOld = "0f803b05be83006c77e8c371b1f999eaabfb2feca9abef64332633362b36ca94"
	fpWebOld   = "49cfb0d0696a9934e408ff20eaeea17ba87924ea520963be2021134814a086cc"
)

// rollbackNeedsTwo makes a rollback need two approvals (carol and bob)
// where a release needs one (carol).
func rollbackNeedsTwo(o *serveOptions) {
	p := o.Config.Pipelines[0]
	p.Approvals.Approvers = append(p.Approvals.Approvers, config.Approver{UserID: bob})
	p.Approvals.RollbackRequired = 2
}

// rollbackMessage waits for a rollback's parent message.
func (b *bot) rollbackMessage() slacktest.Message {
	b.t.Helper()
	return b.parentStarting("Rollback prod-")
}

// storedManifest is release id's manifest in Redis, verified.
func (b *bot) storedManifest(id string) *release.Manifest {
	b.t.Helper()
	data, err := b.store().Manifest(context.Background(), id)
	if err != nil {
		b.t.Fatal(err)
	}
	m, err := release.VerifyManifest(data)
	if err != nil {
		b.t.Fatalf("stored manifest of %s: %v", id, err)
	}
	return m
}

// shipped proposes, approves and waits for the release to succeed and be
// verified; it returns the release id.
func (b *shipBot) shipped() string {
	b.t.Helper()
	msg := b.propose()
	b.click(carol, msg.TS, "release_approve")
	b.threadHas(msg.TS, "The release is approved")
	b.threadHas(msg.TS, "Release succeeded")
	b.threadHas(msg.TS, "Verified in aws-prod#")
	return releaseID(msg)
}

// propose proposes a release and returns its message, the newest, once its
// trail is in Kosli.
func (b *bot) propose() slacktest.Message {
	b.t.Helper()
	n := 0
	b.waitFor("", func(st *slacktest.State) bool {
		for _, m := range st.Messages(releaseChannel) {
			if m.ThreadTS == "" && strings.HasPrefix(m.Text, "Release prod-") {
				n++
			}
		}
		return true
	})
	b.command(alice, releaseChannel, "propose")
	b.waitReleases(n + 1)
	var msg slacktest.Message
	b.waitFor("the newest release message", func(st *slacktest.State) bool {
		for _, m := range st.Messages(releaseChannel) {
			if m.ThreadTS == "" && strings.HasPrefix(m.Text, "Release prod-") {
				msg = m
			}
		}
		return true
	})
	id := releaseID(msg)
	b.waitFor("the release's trail in Kosli", func(*slacktest.State) bool {
		for _, tr := range b.kosli.Trails() {
			if tr.Name == id {
				return true
			}
		}
		return false
	})
	return msg
}

// dispatchedDigests are the digests in the promotions input of dispatch n.
func (b *shipBot) dispatchedDigests(n int) map[string]string {
	b.t.Helper()
	reqs := b.gh.RequestsTo(githubtest.RouteDispatch)
	if len(reqs) <= n {
		b.t.Fatalf("%d dispatches, want more than %d", len(reqs), n)
	}
	var body struct{ Inputs map[string]string }
	if err := json.Unmarshal(reqs[n].Body, &body); err != nil {
		b.t.Fatal(err)
	}
	var items []struct{ Service, Digest string }
	if err := json.Unmarshal([]byte(body.Inputs["promotions"]), &items); err != nil {
		b.t.Fatal(err)
	}
	out := map[string]string{}
	for _, it := range items {
		out[it.Service] = it.Digest
	}
	return out
}

// A release ships; /release rollback proposes putting back what aws-prod ran
// before it, read from Kosli's aws-prod#3548; it needs rollback_required
// approvals, dispatches the old artifacts, and aws-prod runs them again.
func TestRollbackRestoresThePreviousArtifacts(t *testing.T) {
	b := startShip(t, "2", githubtest.Workflow{}, shipSetup{}, rollbackNeedsTwo)
	first := b.shipped()

	b.command(alice, releaseChannel, "rollback")
	msg := b.rollbackMessage()
	text := blocksText(t, msg.Blocks)
	for _, want := range []string{"Rollback prod-", "aws-prod back to aws-prod#3548", "*Rolls back* `" + first + "`",
		"puts back what aws-prod ran before it", "Waiting for approval (0 of 2)", "2 approvals from <@" + carol + "> or <@" + bob + ">",
		"*nginx*", "*web*", "SDLC gate passed"} {
		if !strings.Contains(text, want) {
			t.Errorf("rollback message lacks %q:\n%s", want, text)
		}
	}
	m := b.storedManifest(msg.Text[len("Rollback "):strings.Index(msg.Text, " (")])
	if m.RollbackOf != first || m.Source.SnapshotID != "aws-prod#3548" || m.Source.Environment != "aws-prod" || m.Target.Environment != "aws-prod" {
		t.Errorf("manifest rollbackOf %q, source %+v, target %+v", m.RollbackOf, m.Source, m.Target)
	}
	// The gate asked about the old artifacts in aws-prod only.
	for _, q := range b.kosli.RequestsTo(kositest.RouteAsserts) {
		if q.Query.Get("environment_name") == "aws-beta" && (strings.Contains(q.Path, fpNginxOld) || strings.Contains(q.Path, fpWebOld)) {
			t.Errorf("the rollback's gate asked about %s in aws-beta", q.Path)
		}
	}

	b.click(carol, msg.TS, "release_approve")
	b.threadHas(msg.TS, "approved (1 of 2)")
	b.click(bob, msg.TS, "release_approve")
	b.threadHas(msg.TS, "The release is approved")
	b.threadHas(msg.TS, "Release succeeded")
	b.threadHas(msg.TS, "Verified in aws-prod#")
	got := b.dispatchedDigests(1)
	if got["nginx"] != "sha256:"+fpNginxOld || got["web"] != "sha256:"+fpWebOld || len(got) != 2 {
		t.Errorf("the rollback dispatched %v, want the artifacts of aws-prod#3548", got)
	}

	// Rolled back, aws-prod runs what it ran before the release: rolling
	// it back again would change nothing.
	posts := b.channelPosts()
	b.command(alice, releaseChannel, "rollback "+first)
	b.ephemeral(releaseChannel, alice, "No rollback: Nothing would change: aws-prod already runs what it ran before "+first)
	if n := b.channelPosts(); n != posts {
		t.Errorf("a refused rollback posted %d messages", n-posts)
	}
}

// Each refusal is one line for the person, and no release, message or trail.
func TestRollbackRefusals(t *testing.T) {
	b := startShip(t, "2", githubtest.Workflow{}, shipSetup{})
	nothing := func(t *testing.T, text, want string) {
		t.Helper()
		posts, trails := b.channelPosts(), len(b.kosli.Trails())
		before, err := b.store().List(context.Background(), "prod", 100)
		if err != nil {
			t.Fatal(err)
		}
		b.command(alice, releaseChannel, text)
		b.ephemeral(releaseChannel, alice, want)
		after, err := b.store().List(context.Background(), "prod", 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(after) != len(before) || b.channelPosts() != posts || len(b.kosli.Trails()) != trails {
			t.Errorf("%q: releases %d → %d, posts %d → %d, trails %d → %d", text, len(before), len(after), posts, b.channelPosts(), trails, len(b.kosli.Trails()))
		}
	}
	nothing(t, "rollback", "No rollback: pipeline `prod` has no release that succeeded to roll back.")
	nothing(t, "rollback prod-2020-01-01-1", "No rollback: there is no release `prod-2020-01-01-1`.")
	nothing(t, "rollback Prod!", "is not a pipeline or a release id")
	nothing(t, "rollback prod prod-2020-01-01-1 more", "`/release rollback` takes at most a pipeline and a release id")
	nothing(t, "rollback staging", "There is no pipeline called `staging`")

	// A release that never deployed has nothing to put back.
	id := releaseID(b.propose())
	b.command(alice, releaseChannel, "cancel "+id+" rolled back instead")
	b.ephemeral(releaseChannel, alice, "cancelled")
	nothing(t, "rollback "+id, "No rollback: `"+id+"` is cancelled and never deployed anything")

	first := b.shipped()
	// Kosli no longer knows the nginx that ran before.
	b.kosli.ForgetArtifact(fpNginxOld)
	nothing(t, "rollback", "No rollback: nginx ran 0f803b05be83 before "+first+", and Kosli no longer knows that artifact")

	// aws-prod made anew: its snapshot #3548 is gone.
	b.kosli.RecreateEnvironment("aws-prod")
	b.kosli.SetEnvironment("aws-prod", nil)
	nothing(t, "rollback "+first, "No rollback: Kosli no longer has aws-prod#3548, the snapshot of aws-prod that "+first+" was planned against")
}

// A rollback in a freeze is refused like any proposal; with --break-glass,
// by someone allowed, it ignores the freeze, needs break_glass.required (0
// here: it ships at once), is marked as an emergency and still rolls back.
func TestRollbackWithBreakGlassThroughAFreeze(t *testing.T) {
	b := startShip(t, "2", githubtest.Workflow{}, shipSetup{}, withBreakGlass(t, `allowed: ["U0ALICE0001"], required: 0`))
	first := b.shipped()
	b.command(carol, releaseChannel, "freeze 4h change freeze")
	b.channelHas("froze pipeline `prod`")
	b.command(alice, releaseChannel, "rollback")
	b.ephemeral(releaseChannel, alice, "No release can be proposed until then.")
	b.command(bob, releaseChannel, "rollback --break-glass checkout fails")
	b.ephemeral(releaseChannel, bob, "Only <@"+alice+"> can propose a break-glass release")
	b.command(alice, releaseChannel, "rollback --break-glass")
	b.ephemeral(releaseChannel, alice, "`--break-glass` needs a reason")

	b.command(alice, releaseChannel, "rollback "+first+" --break-glass checkout fails")
	msg := b.rollbackMessage()
	text := blocksText(t, msg.Blocks)
	if !strings.Contains(text, "*EMERGENCY: break-glass release*") || !strings.Contains(text, "*Rolls back* `"+first+"`") {
		t.Errorf("rollback message:\n%s", text)
	}
	b.threadHas(msg.TS, "Release succeeded")
	got := b.dispatchedDigests(1)
	if got["nginx"] != "sha256:"+fpNginxOld || got["web"] != "sha256:"+fpWebOld {
		t.Errorf("dispatched %v", got)
	}
	m := b.storedManifest(msg.Text[len("Rollback "):strings.Index(msg.Text, " (")])
	if m.RollbackOf != first || m.BreakGlass == nil || m.BreakGlass.Reason != "checkout fails" {
		t.Errorf("manifest rollbackOf %q, break glass %+v", m.RollbackOf, m.BreakGlass)
	}
}

// A pipeline's change_ticket applies to a rollback as to a propose: a
// rollback without the ticket required, or with a malformed one, is refused
// naming the pattern and creates nothing; with one, its manifest records it
// and its message links it.
func TestRollbackTakesTheChangeTicket(t *testing.T) {
	t.Parallel()
	b := startShip(t, "2", githubtest.Workflow{}, shipSetup{}, func(o *serveOptions) {
		o.Config.Pipelines[0].ChangeTicket = &config.ChangeTicket{Required: true,
			Pattern: regexp.MustCompile(`^CHG[0-9]+$`), URL: "https://tickets.example/browse/{ticket}"}
	})
	b.command(alice, releaseChannel, "propose --ticket CHG1")
	msg := b.releaseMessage()
	b.click(carol, msg.TS, "release_approve")
	b.threadHas(msg.TS, "Release succeeded")
	b.threadHas(msg.TS, "Verified in aws-prod#")
	first := releaseID(msg)

	posts := b.channelPosts()
	for _, tc := range []struct{ text, want string }{
		{"rollback", "No release: this pipeline needs a change ticket: add --ticket, matching ^CHG[0-9]+$."},
		{"rollback " + first + " --ticket chg2", "No release: the change ticket must match ^CHG[0-9]+$."},
	} {
		b.command(alice, releaseChannel, tc.text)
		b.ephemeral(releaseChannel, alice, tc.want)
	}
	if n := b.channelPosts(); n != posts {
		t.Fatalf("a refused rollback posted %d messages", n-posts)
	}
	if list, err := b.store().List(context.Background(), "prod", 5); err != nil || len(list) != 1 {
		t.Fatalf("releases after the refused rollbacks: %d, %v; want the one shipped", len(list), err)
	}

	b.command(alice, releaseChannel, "rollback --ticket CHG2")
	rb := b.rollbackMessage()
	// The message shows the evidence once it is in Kosli, even when the
	// outbox recorded it before the message's ts was stored (it was not).
	b.waitParent(rb.TS, "the rollback's evidence recorded", ":receipt: Evidence: ")
	const url = "https://tickets.example/browse/CHG2"
	if text := blocksText(t, rb.Blocks); !strings.Contains(text, ":ticket: change <"+url+"|CHG2>") {
		t.Errorf("the rollback message does not link the ticket:\n%s", text)
	}
	m := b.storedManifest(rb.Text[len("Rollback "):strings.Index(rb.Text, " (")])
	if m.RollbackOf != first || m.ChangeTicket == nil || *m.ChangeTicket != (release.ChangeTicket{ID: "CHG2", URL: url}) {
		t.Errorf("rollback manifest: rollbackOf %q, change ticket %+v", m.RollbackOf, m.ChangeTicket)
	}
}

// TestRollbackAcrossARestartAndTwoReplicas: a rollback proposed on two
// replicas, one of which restarts between its approvals, counts both, is
// dispatched exactly once with the artifacts Kosli had before the release,
// and its thread says it succeeded once: the rollback lives in Redis and
// Kosli, not in a process.
func TestRollbackAcrossARestartAndTwoReplicas(t *testing.T) {
	t.Parallel()
	b := startShip(t, "2", githubtest.Workflow{}, shipSetup{}, rollbackNeedsTwo, replica("r1"))
	b.start(rollbackNeedsTwo, replica("r2"))
	b.waitFor("two connections", func(st *slacktest.State) bool { return len(st.Connections()) == 2 })
	first := b.shipped()

	b.command(alice, releaseChannel, "rollback")
	msg := b.rollbackMessage()
	id := msg.Text[len("Rollback "):strings.Index(msg.Text, " (")]
	b.click(carol, msg.TS, "release_approve")
	b.threadHas(msg.TS, "approved (1 of 2)")

	// r1 restarts while r2 runs on; the second approval may reach either.
	if err := b.stopInstance(b.instance); err != nil {
		t.Fatal(err)
	}
	b.waitFor("r1 to go", func(st *slacktest.State) bool { return len(st.Connections()) == 1 })
	b.instance = b.start(rollbackNeedsTwo, replica("r1"))
	b.waitFor("r1 back", func(st *slacktest.State) bool { return len(st.Connections()) == 2 })
	b.command(bob, releaseChannel, "status "+id)
	b.ephemeral(releaseChannel, bob, "1 of 2")
	b.click(bob, msg.TS, "release_approve")
	b.threadHas(msg.TS, "Release succeeded")
	b.threadHas(msg.TS, "Verified in aws-prod#")
	if n := len(b.gh.RequestsTo(githubtest.RouteDispatch)); n != 2 {
		t.Fatalf("%d dispatches, want the release's and the rollback's", n)
	}
	if got := b.dispatchedDigests(1); got["nginx"] != "sha256:"+fpNginxOld || got["web"] != "sha256:"+fpWebOld || len(got) != 2 {
		t.Errorf("the rollback dispatched %v, want the artifacts of aws-prod#3548", got)
	}
	if n := b.threadCount(msg.TS, "Release succeeded"); n != 1 {
		t.Errorf("the rollback's thread says it succeeded %d times", n)
	}
	if m := b.storedManifest(id); m.RollbackOf != first {
		t.Errorf("manifest rollbackOf %q, want %q", m.RollbackOf, first)
	}
}
