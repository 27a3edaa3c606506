package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/release-bot/release-bot/internal/slackbot/slacktest"
)

// runTour plays a whole release through the fake Slack, as people would:
// a diff, a proposal, a guest's refused click, two approvals, the deploy
// and its verification, then a rollback of it, approved and verified (with
// emergency: a freeze first, and the release is a break-glass one that ships
// through it; the freeze is lifted before the rollback). It fails on the
// first step that does not happen.
func runTour(ctx context.Context, w *sandboxWorld, io stdio, emergency bool) error {
	step := func(format string, args ...any) { fmt.Fprintf(io.out, "tour: "+format+"\n", args...) }
	wait := func(what string, d time.Duration, cond func(*slacktest.State) bool) error {
		wctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		if err := w.slack.WaitFor(wctx, cond); err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		return nil
	}
	command := func(user, text string) error {
		step("%s types /release %s", name(w, user), text)
		_, err := w.slack.SlashCommand(slacktest.SlashCommand{ChannelID: sandboxChannel, UserID: user, Text: text})
		return err
	}
	find := func(st *slacktest.State, prefix string) (slacktest.Message, bool) {
		for _, m := range st.Messages(sandboxChannel) {
			if !m.Ephemeral && m.ThreadTS == "" && strings.HasPrefix(m.Text, prefix) {
				return m, true
			}
		}
		return slacktest.Message{}, false
	}
	inThread := func(ts, want string) func(*slacktest.State) bool {
		return func(st *slacktest.State) bool {
			for _, m := range st.Thread(sandboxChannel, ts) {
				if strings.Contains(m.Text, want) {
					return true
				}
			}
			return false
		}
	}

	if err := wait("the bot to connect", 30*time.Second, func(st *slacktest.State) bool { return len(st.Connections()) > 0 }); err != nil {
		return err
	}
	if err := command(sandboxProposer, "diff"); err != nil {
		return err
	}
	var diff slacktest.Message
	if err := wait("the diff", time.Minute, func(st *slacktest.State) bool { var ok bool; diff, ok = find(st, "Release diff"); return ok }); err != nil {
		return err
	}
	step("the bot posted the diff: %s", diff.Text)
	propose := "propose"
	if emergency {
		if err := tourFreeze(ctx, w, step, command, wait); err != nil {
			return err
		}
		propose = "propose --break-glass the sandbox shows an emergency release"
	}
	if err := command(sandboxProposer, propose); err != nil {
		return err
	}
	var rel slacktest.Message
	if err := wait("the release", time.Minute, func(st *slacktest.State) bool { var ok bool; rel, ok = find(st, "Release prod-"); return ok }); err != nil {
		return err
	}
	step("the bot proposed %s", rel.Text)
	for _, u := range []string{sandboxGuest, sandboxProposer} {
		step("%s clicks Approve", name(w, u))
		if _, err := w.slack.BlockAction(slacktest.BlockAction{UserID: u, ChannelID: sandboxChannel, MessageTS: rel.TS, ActionID: "release_approve"}); err != nil {
			return err
		}
		if err := wait("the refusal to "+name(w, u), 30*time.Second, func(st *slacktest.State) bool { return len(st.Ephemerals(sandboxChannel, u)) > 0 }); err != nil {
			return err
		}
		var text string
		_ = w.slack.WaitFor(ctx, func(st *slacktest.State) bool {
			e := st.Ephemerals(sandboxChannel, u)
			text = e[len(e)-1].Text
			return true
		})
		step("  refused: %s", text)
	}
	approve := func(ts string) error {
		for _, u := range []string{sandboxApprover1, sandboxApprover2} {
			step("%s clicks Approve", name(w, u))
			if _, err := w.slack.BlockAction(slacktest.BlockAction{UserID: u, ChannelID: sandboxChannel, MessageTS: ts, ActionID: "release_approve"}); err != nil {
				return err
			}
			if err := wait(name(w, u)+"'s approval", 30*time.Second, inThread(ts, "<@"+u+"> approved")); err != nil {
				return err
			}
		}
		return nil
	}
	if err := approve(rel.TS); err != nil {
		return err
	}
	step("approved; the promotion workflow runs")
	if err := wait("the workflow run", time.Minute, inThread(rel.TS, "Workflow run <")); err != nil {
		return err
	}
	if err := wait("the release to end", 5*time.Minute, func(st *slacktest.State) bool {
		return inThread(rel.TS, "Release succeeded")(st) || inThread(rel.TS, "Release partly failed")(st) || inThread(rel.TS, "Release failed")(st)
	}); err != nil {
		return err
	}
	var replies []string
	_ = w.slack.WaitFor(ctx, func(st *slacktest.State) bool {
		for _, m := range st.Thread(sandboxChannel, rel.TS) {
			replies = append(replies, m.Text)
		}
		return true
	})
	for _, r := range replies {
		step("  thread: %s", r)
	}
	if !strings.Contains(strings.Join(replies, "\n"), "Release succeeded") {
		return fmt.Errorf("the release did not succeed")
	}
	if !strings.Contains(strings.Join(replies, "\n"), "Verified in aws-prod#") {
		return fmt.Errorf("the release was not verified in Kosli")
	}
	if err := tourEvidence(ctx, w, step); err != nil {
		return err
	}
	if emergency {
		step("the break-glass release shipped through the freeze; it waits for an approver's review (Reviewed / Not OK on its message)")
		if err := command(sandboxApprover1, "unfreeze"); err != nil {
			return err
		}
		if err := wait("the unfreeze", 30*time.Second, func(st *slacktest.State) bool { _, ok := findText(st, "lifted the freeze"); return ok }); err != nil {
			return err
		}
		step("the freeze is lifted")
	}

	// Then the way back: a rollback puts back what aws-prod ran before.
	if err := command(sandboxProposer, "rollback"); err != nil {
		return err
	}
	var rb slacktest.Message
	if err := wait("the rollback", time.Minute, func(st *slacktest.State) bool { var ok bool; rb, ok = find(st, "Rollback prod-"); return ok }); err != nil {
		return err
	}
	step("the bot proposed %s", rb.Text)
	if err := approve(rb.TS); err != nil {
		return err
	}
	if err := wait("the rollback to be verified", 5*time.Minute, inThread(rb.TS, "Verified in aws-prod#")); err != nil {
		return err
	}
	step("the rollback succeeded: aws-prod runs again what it ran before the release")
	return nil
}

// tourFreeze has an approver freeze the pipeline and shows the proposer's
// plain propose refused, as the emergency tour's start.
func tourFreeze(ctx context.Context, w *sandboxWorld, step func(string, ...any), command func(user, text string) error,
	wait func(what string, d time.Duration, cond func(*slacktest.State) bool) error) error {
	if err := command(sandboxApprover1, "freeze 1h the sandbox shows a change freeze"); err != nil {
		return err
	}
	if err := wait("the freeze", 30*time.Second, func(st *slacktest.State) bool {
		m, ok := findText(st, "froze pipeline")
		if ok {
			step("the bot announced: %s", m.Text)
		}
		return ok
	}); err != nil {
		return err
	}
	if err := command(sandboxProposer, "propose"); err != nil {
		return err
	}
	return wait("the refusal", 30*time.Second, func(st *slacktest.State) bool {
		for _, m := range st.Ephemerals(sandboxChannel, sandboxProposer) {
			if strings.Contains(m.Text, "is frozen") {
				step("  refused: %s", m.Text)
				return true
			}
		}
		return false
	})
}

// tourEvidence shows what Kosli holds of the release, per artifact, once the
// outbox has delivered it: its promotion and the decision for the control.
func tourEvidence(ctx context.Context, w *sandboxWorld, step func(string, ...any)) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		perArtifact := map[string][]string{}
		outcomes := 0
		for _, a := range w.kosli.Attestations() {
			if service, what, ok := strings.Cut(a.Name, "."); ok {
				if a.Kind == "system" {
					what += fmt.Sprintf(" for %s (compliant: %v)", a.Control, a.Compliant != nil && *a.Compliant)
				}
				perArtifact[service] = append(perArtifact[service], what)
			} else if a.Name == "deployment" || a.Name == "verification" {
				outcomes++
			}
		}
		done := outcomes == 2 && len(perArtifact) > 0
		for _, whats := range perArtifact {
			done = done && len(whats) == 2
		}
		if done {
			services := slices.Sorted(maps.Keys(perArtifact))
			for _, s := range services {
				step("  kosli: %s: %s", s, strings.Join(perArtifact[s], ", "))
			}
			step("  kosli: the trail also holds release-manifest, deployment and verification")
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("the evidence did not reach Kosli: %d attestations", len(w.kosli.Attestations()))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func name(w *sandboxWorld, id string) string {
	for _, u := range w.users {
		if u.ID == id {
			return u.Name
		}
	}
	return id
}

// findText is the first message in the sandbox channel containing want.
func findText(st *slacktest.State, want string) (slacktest.Message, bool) {
	for _, m := range st.Messages(sandboxChannel) {
		if !m.Ephemeral && strings.Contains(m.Text, want) {
			return m, true
		}
	}
	return slacktest.Message{}, false
}
