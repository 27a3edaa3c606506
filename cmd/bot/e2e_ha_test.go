package main

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/github/githubtest"
	"github.com/release-bot/release-bot/internal/slackbot/slacktest"
)

func replica(id string) botOption { return func(o *serveOptions) { o.ReplicaID = id } }

// follower waits for a log line saying which replica follows the run.
func (b *bot) follower(releaseLine string) string {
	b.t.Helper()
	var who string
	b.waitFor("a replica to follow the run", func(*slacktest.State) bool {
		for _, line := range strings.Split(b.logs.String(), "\n") {
			if strings.Contains(line, `"message":"following the release's run"`) && strings.Contains(line, releaseLine) {
				for _, r := range []string{"r1", "r2"} {
					if strings.Contains(line, `"owner":"`+r+`"`) {
						who = r
					}
				}
			}
		}
		return who != ""
	})
	return who
}

// TestHighAvailability: two replicas on one redis-server and one fake Slack
// that spreads envelopes over both connections. Concurrent approvals through
// both dispatch once; stopping the replica that follows the run hands it to
// the other at once (its lease is released), with no thread reply twice; a
// Redis restart mid-release does not stop the release.
func TestHighAvailability(t *testing.T) {
	b := startShip(t, "gen:15", githubtest.Workflow{Duration: 1500 * time.Millisecond, Legs: map[string]githubtest.Leg{
		"service-00009": {Duration: 6 * time.Second}, "service-00012": {Duration: 6 * time.Second},
	}}, shipSetup{}, replica("r1"))
	second := b.start(replica("r2"))
	b.waitFor("two connections", func(st *slacktest.State) bool { return len(st.Connections()) == 2 })

	var users []string
	for i := range 12 {
		u := fmt.Sprintf("U0HA%07d", i)
		users = append(users, u)
		b.slack.AddUser(slacktest.User{ID: u, Name: "ha" + u[4:]})
	}
	// The pipeline's one approver is carol (required: 1). Twelve people who may
	// not approve and carol three times click at once, the envelopes spread over
	// both replicas: one approval, one dispatch.
	b.command(alice, releaseChannel, "propose")
	msg := b.releaseMessage()
	approve := b.button(carol, msg, "release_approve") // from the first copy: late clicks are stale
	var wg sync.WaitGroup
	for _, u := range append(users, carol, carol, carol) {
		wg.Go(func() {
			click := approve
			click.UserID = u
			if _, err := b.slack.BlockAction(click); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	b.threadHas(msg.TS, "The release is approved")
	b.waitFor("acks on both connections", func(st *slacktest.State) bool {
		conns := map[int]bool{}
		for _, a := range st.Acks() {
			conns[a.ConnID] = true
		}
		return len(conns) == 2
	})

	id := releaseID(msg)
	who := b.follower(`"release_id":"` + id + `"`)
	b.threadHas(msg.TS, ":white_check_mark: *service-00000*")

	// Stop the follower; the other replica must take the run over.
	stopped := b.instance
	other := "r2"
	if who == "r2" {
		stopped, other = second, "r1"
	}
	if err := b.stopInstance(stopped); err != nil {
		t.Fatal(err)
	}
	b.waitFor("the other replica to follow", func(*slacktest.State) bool {
		return strings.Contains(b.logs.String(), `"owner":"`+other+`","release_id":"`+id+`","message":"following the release's run"`) ||
			strings.Contains(b.logs.String(), `"release_id":"`+id+`","owner":"`+other+`","message":"following the release's run"`)
	})

	// Redis restarts while the run goes on.
	b.redis.Restart(t)
	b.threadHas(msg.TS, "Release succeeded")
	for _, s := range []string{"service-00000", "service-00003", "service-00006", "service-00009", "service-00012"} {
		if n := b.threadCount(msg.TS, "*"+s+"*"); n != 1 {
			t.Errorf("%s: %d thread replies", s, n)
		}
	}
	if n := b.threadCount(msg.TS, "The release is approved"); n != 1 {
		t.Errorf("%d approval transitions", n)
	}
	if n := len(b.gh.RequestsTo(githubtest.RouteDispatch)); n != 1 {
		t.Errorf("%d dispatches", n)
	}
}

// TestReadinessFollowsRedisAndTheSocket: /readyz is 503 while Redis is down
// or the Socket Mode connection is lost, and 200 again when they are back.
func TestReadinessFollowsRedisAndTheSocket(t *testing.T) {
	b := startBot(t, "2")
	if !eventually(func() bool { return b.readyz() == 200 }) {
		t.Fatal("never ready")
	}
	b.redis.Stop(t)
	if !eventually(func() bool { return b.readyz() == 503 }) {
		t.Error("ready with Redis down")
	}
	b.redis.Start(t)
	if !eventually(func() bool { return b.readyz() == 200 }) {
		t.Error("not ready after Redis came back")
	}
	b.slack.Fail("apps.connections.open", 1000, 503)
	b.slack.DropConnections()
	if !eventually(func() bool { return b.readyz() == 503 }) {
		t.Error("ready with the socket lost")
	}
}
