package commands_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/release-bot/release-bot/internal/commands"
	"github.com/release-bot/release-bot/internal/drift/drifttest"
	"github.com/release-bot/release-bot/internal/slackbot"
	"github.com/release-bot/release-bot/internal/slackbot/slacktest"
)

// rendezvousPeople is the Slack adapter (against the fake Slack) with a
// rendezvous between its two lookups once armed: users.info waits until
// usergroups.list has been asked, so a click that asked them one after the
// other would find it never is, and say so after a bound.
type rendezvousPeople struct {
	*slackbot.API
	armed       atomic.Bool
	groupsAsked chan struct{}
	once        sync.Once
	serial      atomic.Bool
}

func (p *rendezvousPeople) UserGroups(ctx context.Context) ([]slack.UserGroup, error) {
	if p.armed.Load() {
		p.once.Do(func() { close(p.groupsAsked) })
	}
	return p.API.UserGroups(ctx)
}

func (p *rendezvousPeople) User(ctx context.Context, id string) (*slack.User, error) {
	if p.armed.Load() {
		select {
		case <-p.groupsAsked:
		case <-time.After(5 * time.Second):
			p.serial.Store(true)
		}
	}
	return p.API.User(ctx, id)
}

// TestApproveLooksThePersonAndTheGroupsUpAtOnce: the approving click asks
// users.info and usergroups.list together (one round trip, not two), and the
// approval counts as before.
func TestApproveLooksThePersonAndTheGroupsUpAtOnce(t *testing.T) {
	people := &rendezvousPeople{groupsAsked: make(chan struct{})}
	c := drifttest.NewClock(time.Now().UTC()) // the store checks expiry against its own clock
	e := newDriftEnv(t, "2", func(d *commands.Deps) {
		api := d.Slack.(*slackbot.API)
		people.API = api
		d.Views, d.People, d.Now = api, people, c.Now
	})
	e.slack.AddUser(slacktest.User{ID: rejectProposer, Name: "alice"})
	e.slack.AddUser(slacktest.User{ID: rejectApprover, Name: "carol"})
	ctx := context.Background()
	e.h.Command(ctx, slack.SlashCommand{TeamID: "T0SLACKTEST", ChannelID: driftChannel, UserID: rejectProposer, Command: "/release", Text: "propose"})
	r, err := e.store.Active(ctx, "prod")
	if err != nil || r == nil || r.MessageTS == "" {
		t.Fatalf("no proposed release: %v, %+v", err, r)
	}
	people.armed.Store(true)
	e.h.Interaction(ctx, e.click(t, r, rejectApprover, commands.ActionApprove))
	if people.serial.Load() {
		t.Error("users.info was asked alone: usergroups.list was not asked while it was in flight")
	}
	if n := e.threadCount(r, "The release is approved"); n != 1 {
		t.Errorf("%d approvals announced, want 1\n%s", n, e.threadText(r))
	}
}

// TestSimultaneousRetriesAnnounceTheApprovalOnce: the one approval needed,
// clicked five times at once by the same person. The click whose script
// moved the release to approved and the retries that find it approved by
// that person (taken for retries of an unconfirmed click) all race to tell
// it; the Once marker "approved:<id>" lets exactly one post the announcement
// and ship.
func TestSimultaneousRetriesAnnounceTheApprovalOnce(t *testing.T) {
	c := drifttest.NewClock(time.Now().UTC())
	e := newDriftEnv(t, "2", func(d *commands.Deps) {
		api := d.Slack.(*slackbot.API)
		d.Views, d.People, d.Now = api, api, c.Now
	})
	e.slack.AddUser(slacktest.User{ID: rejectProposer, Name: "alice"})
	e.slack.AddUser(slacktest.User{ID: rejectApprover, Name: "carol"})
	ctx := context.Background()
	e.h.Command(ctx, slack.SlashCommand{TeamID: "T0SLACKTEST", ChannelID: driftChannel, UserID: rejectProposer, Command: "/release", Text: "propose"})
	r, err := e.store.Active(ctx, "prod")
	if err != nil || r == nil || r.MessageTS == "" {
		t.Fatalf("no proposed release: %v, %+v", err, r)
	}
	click := e.click(t, r, rejectApprover, commands.ActionApprove) // all five on the same message
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() { e.h.Interaction(ctx, click) })
	}
	wg.Wait()
	if n := e.threadCount(r, "The release is approved"); n != 1 {
		t.Errorf("%d approvals announced, want 1\n%s", n, e.threadText(r))
	}
}
