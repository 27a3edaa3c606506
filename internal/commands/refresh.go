package commands

import (
	"context"
	"sync"

	"github.com/release-bot/release-bot/internal/release"
)

// refreshes runs the rewrites of each release's parent message one pass at
// a time, each pass rendering the release as Redis holds it when the pass
// starts. Two changes told at once (the move to dispatching and the run
// that follows it) then never leave the message showing the older one, as
// two concurrent chat.update calls answered out of order could; and
// requests made while a pass runs share the one pass after it. No lock is
// held across a Slack call.
type refreshes struct {
	mu    sync.Mutex
	turns map[string]*refreshTurn
}

// refreshTurn is one release's passes: next is closed when a pass that
// started after it was made is done; nil when nothing waits.
type refreshTurn struct {
	next    chan struct{}
	offered *release.Release // the newest release a caller passed in
}

// request asks for a pass over r's message and returns a channel closed
// when one that started after the request is done. The pass runs on its
// own, even once the caller stops waiting.
func (q *refreshes) request(r *release.Release, pass func(offered *release.Release)) <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.turns == nil {
		q.turns = map[string]*refreshTurn{}
	}
	t, running := q.turns[r.ID]
	if !running {
		t = &refreshTurn{}
		q.turns[r.ID] = t
	}
	if t.offered == nil || r.Version >= t.offered.Version {
		t.offered = r
	}
	if t.next == nil {
		t.next = make(chan struct{})
	}
	next := t.next
	if !running {
		go q.run(r.ID, t, pass)
	}
	return next
}

// run makes passes until no request waits, then forgets the release.
func (q *refreshes) run(id string, t *refreshTurn, pass func(*release.Release)) {
	for {
		q.mu.Lock()
		done, offered := t.next, t.offered
		if done == nil {
			delete(q.turns, id)
			q.mu.Unlock()
			return
		}
		t.next = nil
		q.mu.Unlock()
		pass(offered)
		close(done)
	}
}

// refresh rewrites the release's parent message from its newest state and
// returns when that is done (or failed, which is logged), even once
// shutdown has begun (telling).
func (h *Handler) refresh(ctx context.Context, r *release.Release) {
	if r == nil {
		return
	}
	ctx, cancel := telling(ctx)
	defer cancel()
	select {
	case <-h.refreshes.request(r, h.rewrite):
	case <-ctx.Done():
	}
}

// refreshSoon is refresh without the wait, for a change whose telling must
// not hold up what comes next (the dispatch after the move to dispatching).
func (h *Handler) refreshSoon(r *release.Release) {
	if r != nil {
		h.refreshes.request(r, h.rewrite)
	}
}

// rewrite is one pass: the release as Redis holds it now (offered, the
// newest a caller had, when Redis cannot say), rendered into its message.
func (h *Handler) rewrite(offered *release.Release) {
	ctx, cancel := telling(context.Background())
	defer cancel()
	r, err := h.d.Releases.Get(ctx, offered.ID)
	if err != nil || r.Version < offered.Version || (r.MessageTS == "" && offered.MessageTS != "") {
		r = offered
	}
	if r = h.located(ctx, r); r == nil {
		return
	}
	data, err := h.d.Releases.Manifest(ctx, r.ID)
	if err != nil {
		h.d.Logger.Error().Err(err).Str("release_id", r.ID).Msg("reading the manifest to update the message")
		return
	}
	m, err := release.ParseManifest(data)
	if err != nil {
		h.d.Logger.Error().Err(err).Str("release_id", r.ID).Msg("stored manifest unreadable")
		return
	}
	p, ok := h.d.Config.Pipeline(r.Pipeline)
	if !ok {
		return
	}
	_, rule := h.policyFor(ctx, p, r.Required)
	if r.BreakGlass != nil {
		rule = breakGlassRule(r.Required, rule)
	}
	msg := ReleaseMessage(ReleaseView{Release: r, Manifest: m, Rule: rule, SelfApproval: p.Approvals.AllowSelfApproval, Now: h.d.Now()})
	if err := h.d.Slack.UpdateMessage(ctx, r.Channel, r.MessageTS, msg.Text, msg.Blocks); err != nil {
		h.d.Logger.Error().Err(err).Str("release_id", r.ID).Msg("updating the release message failed")
	}
	// Every change of a release passes here: the Homes that show it follow.
	h.homeChanged(r.ID)
}
