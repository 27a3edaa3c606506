package commands

import (
	"context"
	"encoding/json"
	"time"

	"github.com/slack-go/slack"

	"github.com/release-bot/release-bot/internal/config"
	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/store"
)

// Releases is release state shared by every replica (the Redis store).
type Releases interface {
	NextID(ctx context.Context, pipeline string, day time.Time) (string, error)
	Create(ctx context.Context, r *release.Release, manifest []byte, promotions map[string]json.RawMessage) error
	Get(ctx context.Context, id string) (*release.Release, error)
	Manifest(ctx context.Context, id string) ([]byte, error)
	Active(ctx context.Context, pipeline string) (*release.Release, error)
	List(ctx context.Context, pipeline string, limit int) ([]*release.Release, error)
	Approve(ctx context.Context, id string, a release.Approval) (store.ApproveResult, error)
	Reject(ctx context.Context, id string, d release.Decision, also ...func(*release.Release)) (*release.Release, error)
	Transition(ctx context.Context, id string, to release.State, opts store.TransitionOpts) (*release.Release, error)
	Amend(ctx context.Context, id string, version int64, update func(*release.Release)) (*release.Release, error)
	// Once reports whether the caller is the first to ask for key.
	Once(ctx context.Context, key string, ttl time.Duration) (bool, error)
}

var _ Releases = (*store.Store)(nil)

// People says who Slack users are and which groups they belong to.
type People interface {
	User(ctx context.Context, id string) (*slack.User, error)
	UserGroups(ctx context.Context) ([]slack.UserGroup, error)
}

// Views opens Slack modals (the reject reason).
type Views interface {
	OpenView(ctx context.Context, triggerID string, view slack.ModalViewRequest) error
}

// Dispatcher starts an approved release's promotion, once, and follows it;
// it answers in the release's thread. Cancel stops a release being deployed.
type Dispatcher interface {
	Dispatch(ctx context.Context, r *release.Release, p *config.Pipeline) error
	Cancel(ctx context.Context, r *release.Release, p *config.Pipeline) error
}

// DirectMessages opens a person's direct message with the bot and links
// messages (Slack), for the nudges to approvers.
type DirectMessages interface {
	OpenDM(ctx context.Context, userID string) (string, error)
	Permalink(ctx context.Context, channel, ts string) (string, error)
}

// Mutes are the people who muted a pipeline's direct messages (the store).
type Mutes interface {
	Mute(ctx context.Context, pipeline, userID string) (bool, error)
	Unmute(ctx context.Context, pipeline, userID string) (bool, error)
	Muted(ctx context.Context, pipeline string) (map[string]bool, error)
}

var _ Mutes = (*store.Store)(nil)
