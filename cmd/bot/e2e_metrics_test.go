package main

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/release-bot/release-bot/internal/github/githubtest"
	"github.com/release-bot/release-bot/internal/release"
)

// scrape reads the bot's /metrics into series → value, for the releasebot_
// counters only (…_total, without histograms and gauges).
func scrape(t *testing.T, b *bot) map[string]float64 {
	t.Helper()
	return scrapeAddr(t, b.ops)
}

// scrapeAddr is scrape of the instance whose ops server is at addr.
func scrapeAddr(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for line := range strings.SplitSeq(get(t, "http://"+addr+"/metrics"), "\n") {
		if !strings.HasPrefix(line, "releasebot_") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		name := line[:i]
		if base, _, _ := strings.Cut(name, "{"); !strings.HasSuffix(base, "_total") {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[name] = v
	}
	return out
}

// TestMetricsAfterOneWholeRelease scrapes /metrics after a release went
// from propose to verified and checks every releasebot_ counter: each state
// entered counted once (issue 19: it counted message refreshes), the
// requests to Kosli, GitHub and Slack by endpoint and status class, and
// every other series present at zero. Only what polls (the run, its jobs),
// the message refreshes that follow it, the "Working on it…" notice and a
// look for the run by name vary with timing.
func TestMetricsAfterOneWholeRelease(t *testing.T) {
	t.Parallel()
	b := startShip(t, "2", githubtest.Workflow{}, shipSetup{})
	ts := b.proposeAndApprove()
	b.threadHas(ts, "Verified in aws-prod#")

	const (
		kosli = "releasebot_kosli_requests_total"
		gh    = "releasebot_github_requests_total"
		slack = "releasebot_slack_requests_total"
	)
	exact := map[string]float64{
		`releasebot_release_transitions_total{state="proposed"}`:    1,
		`releasebot_release_transitions_total{state="approved"}`:    1,
		`releasebot_release_transitions_total{state="dispatching"}`: 1,
		`releasebot_release_transitions_total{state="deploying"}`:   1,
		`releasebot_release_transitions_total{state="succeeded"}`:   1,

		`releasebot_commands_total{command="propose",outcome="ok"}`:               1,
		`releasebot_commands_total{command="click:release_approve",outcome="ok"}`: 1,
		`releasebot_socket_envelopes_total{type="slash_commands"}`:                1,
		`releasebot_socket_envelopes_total{type="interactive"}`:                   1,
		`releasebot_socket_acks_total{result="ok"}`:                               2,
		`releasebot_socket_state_changes_total{event="connecting"}`:               1,
		`releasebot_socket_state_changes_total{event="connected"}`:                1,

		// At the start: the control's type is looked up (404), created, and the control read.
		kosli + `{endpoint="GET /custom-attestation-types/{org}/{name}",status="4xx"}`: 1,
		kosli + `{endpoint="POST /custom-attestation-types/{org}",status="2xx"}`:       1,
		kosli + `{endpoint="GET /controls/{org}/{identifier}",status="2xx"}`:           1,
		// propose: the diff and the gate; approve: the drift re-check.
		kosli + `{endpoint="GET /env-diff/{org}",status="2xx"}`:                 2,
		kosli + `{endpoint="GET /asserts/{org}/fingerprint/{fp}",status="2xx"}`: 4,
		kosli + `{endpoint="GET /snapshots/{org}/{env}/{id}",status="2xx"}`:     1,
		// The evidence outbox: the trail, the artifacts, the decision and the outcomes.
		kosli + `{endpoint="PUT /flows/{org}/template_file",status="2xx"}`:                        1,
		kosli + `{endpoint="PUT /trails/{org}/{flow}",status="2xx"}`:                              1,
		kosli + `{endpoint="POST /artifacts/{org}/{flow}",status="2xx"}`:                          2,
		kosli + `{endpoint="POST /attestations/{org}/{flow}/trail/{trail}/custom",status="2xx"}`:  2,
		kosli + `{endpoint="POST /attestations/{org}/{flow}/trail/{trail}/generic",status="2xx"}`: 3,
		kosli + `{endpoint="POST /attestations/{org}/{flow}/trail/{trail}/system",status="2xx"}`:  2,

		gh + `{endpoint="POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches",status="2xx"}`: 1,

		slack + `{method="auth.test",status="2xx"}`:             1,
		slack + `{method="apps.connections.open",status="2xx"}`: 1,
		slack + `{method="usergroups.list",status="2xx"}`:       1,
		slack + `{method="users.info",status="2xx"}`:            2,
	}
	// The release message, its details, and the replies: approved, the
	// run, two artifacts deployed, succeeded and verified; and "waiting for
	// Kosli to record the decision" when the outbox had not yet.
	posts := slack + `{method="chat.postMessage",status="2xx"}`
	// "Working on it…" and its removal, when propose took longer than working_after.
	workingNotice := slack + `{method="response_url",status="2xx"}`
	// Finding the run by name, when the follower looked before the dispatch's run id was stored.
	findRun := gh + `{endpoint="GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs",status="2xx"}`
	atLeastOnce := []string{
		gh + `{endpoint="GET /repos/{owner}/{repo}/actions/runs/{run_id}",status="2xx"}`,
		gh + `{endpoint="GET /repos/{owner}/{repo}/actions/runs/{run_id}/jobs",status="2xx"}`,
		slack + `{method="chat.update",status="2xx"}`,
	}
	// Present at zero from the start, so that rate() sees a first failure.
	zero := []string{
		`releasebot_release_transitions_total{state="failed"}`,
		`releasebot_release_transitions_total{state="evidence_failed"}`,
		`releasebot_commands_total{command="diff",outcome="error"}`,
		`releasebot_commands_total{command="click:other",outcome="stale"}`,
		`releasebot_socket_acks_total{result="error"}`,
		`releasebot_socket_state_changes_total{event="invalid_auth"}`,
		`releasebot_evidence_delivery_failures_total{kind="decision",result="given_up"}`,
		`releasebot_busy_rejections_total`,
		`releasebot_duplicate_envelopes_total`,
		kosli + `{endpoint="GET /env-diff/{org}",status="5xx"}`,
		gh + `{endpoint="POST /repos/{owner}/{repo}/actions/runs/{run_id}/cancel",status="5xx"}`,
		gh + `{endpoint="GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs",status="0"}`,
		slack + `{method="chat.postMessage",status="5xx"}`,
		slack + `{method="views.open",status="0"}`,
	}

	// The outbox delivers the outcomes just after the last reply.
	var m map[string]float64
	settled := eventually(func() bool {
		m = scrape(t, b.bot)
		for k, v := range exact {
			if m[k] != v {
				return false
			}
		}
		return true
	})
	if !settled {
		for _, k := range slices.Sorted(maps.Keys(exact)) {
			if m[k] != exact[k] {
				t.Errorf("%s = %v, want %v", k, m[k], exact[k])
			}
		}
	}
	for _, k := range atLeastOnce {
		if m[k] < 1 {
			t.Errorf("%s = %v, want at least 1", k, m[k])
		}
	}
	if v := m[posts]; v != 7 && v != 8 {
		t.Errorf("%s = %v, want 7 or 8", posts, v)
	}
	if v := m[workingNotice]; v != 0 && v != 2 {
		t.Errorf("%s = %v, want 0 or 2", workingNotice, v)
	}
	for _, k := range zero {
		if v, ok := m[k]; !ok || v != 0 {
			t.Errorf("%s: %v (present %v), want present at 0", k, v, ok)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if _, ok := exact[k]; !ok && !slices.Contains(atLeastOnce, k) && k != posts && k != workingNotice && k != findRun && m[k] != 0 {
			t.Errorf("%s = %v, want 0", k, m[k])
		}
	}
	for _, st := range release.States {
		if _, ok := m[`releasebot_release_transitions_total{state="`+string(st)+`"}`]; !ok {
			t.Errorf("no transitions series for %s", st)
		}
	}
}
