package main

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/github/githubtest"
	"github.com/release-bot/release-bot/internal/slackbot/slacktest"
	"github.com/release-bot/release-bot/internal/store"
)

func replica(id string) botOption { return func(o *serveOptions) { o.ReplicaID = id } }

// follower waits until a replica other than not holds the release's follow
// lease (one holder at a time: store.AcquireLease, key rb:lease:follow:<id>)
// and returns it.
func (b *bot) follower(id, not string) string {
	b.t.Helper()
	rdb := b.redis.Client(b.t)
	key := store.DefaultPrefix + "lease:follow:" + id
	var who string
	if !eventually(func() bool {
		who, _ = rdb.Get(context.Background(), key).Result()
		return who != "" && who != not
	}) {
		b.t.Fatalf("no replica but %q follows release %s (lease holder %q)\nlogs:\n%s", not, id, who, b.logs.String())
	}
	return who
}

// TestHighAvailability: two replicas on one redis-server and one fake Slack
// that spreads envelopes over both connections. Concurrent approvals through
// both dispatch once; stopping the replica that follows the run hands it to
// the other at once (its lease is released), with no thread reply twice; a
// Redis restart mid-release does not stop the release.
func TestHighAvailability(t *testing.T) {
	t.Parallel()
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
	who := b.follower(id, "")
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
	if got := b.follower(id, who); got != other {
		t.Fatalf("release %s is followed by %q, want %q", id, got, other)
	}

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
	t.Parallel()
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
