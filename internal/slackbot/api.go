package slackbot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/slack-go/slack"
	"golang.org/x/time/rate"

	"github.com/release-bot/release-bot/internal/remote"
	"github.com/release-bot/release-bot/internal/retry"
	"github.com/release-bot/release-bot/internal/secret"
)

// APIOptions configures the Web API client.
type APIOptions struct {
	BotToken secret.Secret
	// AppToken opens Socket Mode connections (apps.connections.open).
	AppToken secret.Secret
	// APIURL is Slack's Web API base ending in "/" (SLACK_API_URL); default https://slack.com/api/.
	APIURL     string
	HTTPClient *http.Client
	// Timeout bounds one call (default 10s).
	Timeout time.Duration
	Retry   retry.Policy
	Logger  zerolog.Logger
	// PostInterval spaces chat.postMessage calls to one channel (default 1s after a burst of 3):
	// Slack allows about one message per second per channel.
	PostInterval time.Duration
	// HomeInterval spaces views.publish calls (default 700ms after a burst
	// of 5): the method is Tier 4, 100+ a minute, and a release's change
	// republishes the Home of everyone who can act on it.
	HomeInterval time.Duration
	// CacheFor is how long user and user-group lookups are cached (default 1m; usergroups.* is Tier 2).
	CacheFor time.Duration
	Now      func() time.Time
	// Observe, when set, is called after every HTTP request to Slack with
	// the Web API method (one of Methods, "other" for any other, or
	// "response_url"), the status (0 when no answer came) and the time to
	// the answer's headers.
	Observe func(method string, status int, d time.Duration)
}

// API is release-bot's use of Slack's Web API: posting and updating
// messages, answering through response_urls, and reading who people are.
type API struct {
	client *slack.Client
	http   *http.Client // the requests' client, observed when Observe is set
	opts   APIOptions

	mu     sync.Mutex
	pacers map[string]*rate.Limiter
	users  map[string]cached[*slack.User]
	groups cached[[]slack.UserGroup]
	ims    map[string]string // user id → their DM with the bot, which never changes
	homes  *rate.Limiter     // views.publish, shared by every user's Home
}

type cached[T any] struct {
	value T
	at    time.Time
	ok    bool
}

// NewAPI builds the client; the bot token is revealed to slack-go only.
func NewAPI(opts APIOptions) *API {
	if opts.APIURL == "" {
		opts.APIURL = "https://slack.com/api/"
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Retry.Attempts == 0 {
		opts.Retry = retry.Policy{Attempts: 4, Base: time.Second, Max: 30 * time.Second}
	}
	if opts.PostInterval <= 0 {
		opts.PostInterval = time.Second
	}
	if opts.HomeInterval <= 0 {
		opts.HomeInterval = 700 * time.Millisecond
	}
	if opts.CacheFor <= 0 {
		opts.CacheFor = time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	hc := &http.Client{}
	if opts.HTTPClient != nil {
		hc = opts.HTTPClient
	}
	if opts.Observe != nil {
		hc = observed(hc, opts.APIURL, opts.Observe)
	}
	c := slack.New(opts.BotToken.Reveal(), slack.OptionAPIURL(opts.APIURL), slack.OptionHTTPClient(hc),
		slack.OptionAppLevelToken(opts.AppToken.Reveal()))
	return &API{client: c, http: hc, opts: opts, pacers: map[string]*rate.Limiter{}, users: map[string]cached[*slack.User]{},
		ims: map[string]string{}, homes: rate.NewLimiter(rate.Every(opts.HomeInterval), homeBurst)}
}

// Client is the underlying slack-go client, for the Socket Mode client to share.
func (a *API) Client() *slack.Client { return a.client }

// classify retries Slack's 429s after their Retry-After (Slack did nothing),
// a request that never left (a failed dial), and 5xx.
func classify(err error) retry.Decision {
	if d := classifyWrite(err); d.Retry {
		return d
	}
	var sc slack.StatusCodeError
	if errors.As(err, &sc) && sc.Retryable() {
		return retry.Again
	}
	return retry.Stop
}

// classifyWrite is classify for a request that must not be sent twice: a
// 5xx or a timeout may come after Slack posted the message, so only what
// Slack certainly did not act on is retried.
func classifyWrite(err error) retry.Decision {
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return retry.Decision{Retry: true, After: rl.RetryAfter}
	}
	if remote.NotSent(err) {
		return retry.Again
	}
	return retry.Stop
}

// once reports whether a method's effect happens again when it is sent
// again: a second chat.postMessage is a second message. chat.update is not:
// it sets the same text twice.
func once(method string) bool {
	switch method {
	case "chat.postMessage", "chat.postEphemeral", "views.open":
		return true
	}
	return false
}

func (a *API) call(ctx context.Context, method string, op func(ctx context.Context) error) error {
	classify := classify
	if once(method) {
		classify = classifyWrite
	}
	err := retry.Do(ctx, a.opts.Retry, classify, func(ctx context.Context) error {
		cctx, cancel := context.WithTimeout(ctx, a.opts.Timeout)
		defer cancel()
		return op(cctx)
	})
	if err != nil {
		return fmt.Errorf("slack %s: %w", method, err)
	}
	return nil
}

// PostMessage posts to a channel, in a thread when threadTS is set, and
// returns the message's ts. Posts to one channel are paced.
func (a *API) PostMessage(ctx context.Context, channel, threadTS, text string, blocks []slack.Block) (string, error) {
	if err := a.pace(ctx, channel); err != nil {
		return "", err
	}
	opts := []slack.MsgOption{slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...)}
	if threadTS != "" {
		opts = append(opts, slack.MsgOptionTS(threadTS))
	}
	var ts string
	err := a.call(ctx, "chat.postMessage", func(ctx context.Context) error {
		var err error
		_, ts, err = a.client.PostMessageContext(ctx, channel, opts...)
		return err
	})
	return ts, err
}

// maxReplyPages bounds a thread read: 200 messages a page.
const maxReplyPages = 10

// Replies returns the messages of the thread under threadTS, its parent
// first, as Slack returns them, reading at most maxReplyPages pages.
// https://api.slack.com/methods/conversations.replies
func (a *API) Replies(ctx context.Context, channel, threadTS string) ([]slack.Message, error) {
	var all []slack.Message
	cursor := ""
	for range maxReplyPages {
		var (
			page    []slack.Message
			hasMore bool
			next    string
		)
		err := a.call(ctx, "conversations.replies", func(ctx context.Context) error {
			var err error
			page, hasMore, next, err = a.client.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{
				ChannelID: channel, Timestamp: threadTS, Cursor: cursor, Limit: 200, Inclusive: true,
			})
			return err
		})
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if !hasMore || next == "" {
			return all, nil
		}
		cursor = next
	}
	return all, nil
}

// UpdateMessage replaces a message the bot posted.
func (a *API) UpdateMessage(ctx context.Context, channel, ts, text string, blocks []slack.Block) error {
	return a.call(ctx, "chat.update", func(ctx context.Context) error {
		_, _, _, err := a.client.UpdateMessageContext(ctx, channel, ts, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...))
		return err
	})
}

// PostEphemeral shows a message to one person in a channel.
func (a *API) PostEphemeral(ctx context.Context, channel, user, text string, blocks []slack.Block) error {
	return a.call(ctx, "chat.postEphemeral", func(ctx context.Context) error {
		_, err := a.client.PostEphemeralContext(ctx, channel, user, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...))
		return err
	})
}

// Respond answers through a response_url. The URL is a credential: it is
// never logged nor put in an error. Like chat.postMessage, an answer is
// sent again only when Slack certainly did not take it.
func (a *API) Respond(ctx context.Context, responseURL string, msg *slack.WebhookMessage) error {
	err := retry.Do(ctx, a.opts.Retry, classifyWrite, func(ctx context.Context) error {
		cctx, cancel := context.WithTimeout(ctx, a.opts.Timeout)
		defer cancel()
		return slack.PostWebhookCustomHTTPContext(cctx, responseURL, a.http, msg)
	})
	if err != nil {
		var sc slack.StatusCodeError
		if errors.As(err, &sc) {
			return fmt.Errorf("slack response_url: HTTP %d", sc.Code)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("slack response_url: %w", ctx.Err())
		}
		return errors.New("slack response_url: the request failed")
	}
	return nil
}

// Busy tells a person the bot is too busy to take their request.
func (a *API) Busy(ctx context.Context, responseURL, _, _ string) {
	err := a.Respond(ctx, responseURL, &slack.WebhookMessage{
		ResponseType: slack.ResponseTypeEphemeral,
		Text:         ":hourglass: release-bot is busy right now. Please try again in a moment.",
	})
	if err != nil {
		a.opts.Logger.Warn().Err(err).Msg("could not say busy")
	}
}

// User returns a person's profile, cached for CacheFor.
func (a *API) User(ctx context.Context, id string) (*slack.User, error) {
	now := a.opts.Now()
	a.mu.Lock()
	c, ok := a.users[id]
	a.mu.Unlock()
	if ok && now.Sub(c.at) < a.opts.CacheFor {
		return c.value, nil
	}
	var u *slack.User
	err := a.call(ctx, "users.info", func(ctx context.Context) error {
		var err error
		u, err = a.client.GetUserInfoContext(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.users[id] = cached[*slack.User]{value: u, at: now, ok: true}
	a.mu.Unlock()
	return u, nil
}

// UserGroups lists the workspace's user groups with their members, cached for CacheFor.
func (a *API) UserGroups(ctx context.Context) ([]slack.UserGroup, error) {
	now := a.opts.Now()
	a.mu.Lock()
	c := a.groups
	a.mu.Unlock()
	if c.ok && now.Sub(c.at) < a.opts.CacheFor {
		return c.value, nil
	}
	var groups []slack.UserGroup
	err := a.call(ctx, "usergroups.list", func(ctx context.Context) error {
		var err error
		groups, err = a.client.GetUserGroupsContext(ctx, slack.GetUserGroupsOptionIncludeUsers(true))
		return err
	})
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.groups = cached[[]slack.UserGroup]{value: groups, at: now, ok: true}
	a.mu.Unlock()
	return groups, nil
}

// postBurst posts go to a channel at once; then one per PostInterval.
const postBurst = 3

// dmPacer is the pacer every direct message shares. Slack's one message a
// second is per channel, and each DM is a channel of its own; but the DMs
// of one proposal go out together, to up to 20 approvers, and a workspace
// has its own limit on the app's posts: sharing one pacer spreads them.
const dmPacer = "direct messages"

func (a *API) pace(ctx context.Context, channel string) error {
	if strings.HasPrefix(channel, "D") {
		channel = dmPacer
	}
	a.mu.Lock()
	p := a.pacers[channel]
	if p == nil {
		p = newPacer(a.opts.PostInterval)
		a.pacers[channel] = p
	}
	a.mu.Unlock()

	return retry.Sleep(ctx, reserve(p, a.opts.Now()))
}

// newPacer is a channel's token bucket: a burst of postBurst, then one post
// per interval.
func newPacer(interval time.Duration) *rate.Limiter {
	return rate.NewLimiter(rate.Every(interval), postBurst)
}

// reserve takes the next post slot at now and says how long to wait for
// it: each waiter reserves its own, so concurrent posters queue up.
func reserve(p *rate.Limiter, now time.Time) time.Duration {
	return p.ReserveN(now, 1).DelayFrom(now)
}

// OpenDM opens (or finds again) the bot's direct message with a user and
// returns its channel id (D…), cached: it does not change. The bot token
// needs im:write.
// https://api.slack.com/methods/conversations.open
func (a *API) OpenDM(ctx context.Context, userID string) (string, error) {
	a.mu.Lock()
	id, ok := a.ims[userID]
	a.mu.Unlock()
	if ok {
		return id, nil
	}
	err := a.call(ctx, "conversations.open", func(ctx context.Context) error {
		ch, _, _, err := a.client.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{userID}})
		if err == nil && (ch == nil || ch.ID == "") {
			err = errors.New("no channel in the answer")
		}
		if err == nil {
			id = ch.ID
		}
		return err
	})
	if err != nil {
		return "", err
	}
	a.mu.Lock()
	a.ims[userID] = id
	a.mu.Unlock()
	return id, nil
}

// Permalink links a message.
// https://api.slack.com/methods/chat.getPermalink
func (a *API) Permalink(ctx context.Context, channel, ts string) (string, error) {
	var link string
	err := a.call(ctx, "chat.getPermalink", func(ctx context.Context) error {
		var err error
		link, err = a.client.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: channel, Ts: ts})
		return err
	})
	return link, err
}

// OpenView opens a modal in answer to a click (trigger ids live 3 seconds).
func (a *API) OpenView(ctx context.Context, triggerID string, view slack.ModalViewRequest) error {
	return a.call(ctx, "views.open", func(ctx context.Context) error {
		_, err := a.client.OpenViewContext(ctx, triggerID, view)
		return err
	})
}

// homeBurst is how many Home views go out at once before HomeInterval
// spaces them.
const homeBurst = 5

// PublishHome sets a user's Home tab, paced (views.publish is Tier 4). It
// needs no scope beyond the bot token, and the Home tab enabled in the
// app's settings (not_enabled otherwise). Setting the same view twice does
// no harm, so it is retried like a read.
// https://api.slack.com/methods/views.publish
func (a *API) PublishHome(ctx context.Context, userID string, view slack.HomeTabViewRequest) error {
	if err := retry.Sleep(ctx, reserve(a.homes, a.opts.Now())); err != nil {
		return err
	}
	return a.call(ctx, "views.publish", func(ctx context.Context) error {
		_, err := a.client.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: userID, View: view})
		return err
	})
}
