package commands

import (
	"cmp"
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/release-bot/release-bot/internal/config"
	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/store"
)

// The App Home tab shows a person what waits for their decision (with the
// release message's own Approve and Reject buttons, handled by the same
// code), the open releases they proposed, and the newest releases of
// their pipelines. It is published when they open it (app_home_opened),
// after each click on it, and again when a release they can act on
// changes, for as long as they keep opening it (homeKeep).

// HomeTabs publishes a person's Home tab (Slack's views.publish).
type HomeTabs interface {
	PublishHome(ctx context.Context, userID string, view slack.HomeTabViewRequest) error
}

// HomeStore is what the Home tab reads and keeps (the store).
type HomeStore interface {
	Recent(ctx context.Context, pipelines []string, limit int) (map[string][]*release.Release, error)
	Manifests(ctx context.Context, ids []string) (map[string][]byte, error)
	HomeOpened(ctx context.Context, userID string, at time.Time, keep time.Duration) error
	HomeViewers(ctx context.Context, since time.Time, limit int) ([]string, error)
}

var _ HomeStore = (*store.Store)(nil)

const (
	// homeKeep is how long after someone last opened the Home it is still
	// republished for them when a release changes.
	homeKeep = 30 * 24 * time.Hour
	// maxHomeAudience bounds the Homes one release's change republishes.
	maxHomeAudience = 500
	// homeQueue bounds the changed releases waiting for HomeLoop.
	homeQueue = 64
	// noticeFor is how long a click's answer stays on the clicker's Home,
	// so that a republish for the change it made does not wipe it at once.
	noticeFor = time.Minute
	// maxPermalinks bounds the cache of release messages' permalinks.
	maxPermalinks = 4096
)

// homeState is the Handler's Home tab bookkeeping.
type homeState struct {
	changes chan string // release ids whose audience HomeLoop republishes
	locks   [16]sync.Mutex

	mu      sync.Mutex
	notices map[string]notice
	links   map[string]string // "channel ts" → permalink
}

type notice struct {
	text  string
	until time.Time
}

// homeClick reports whether a click came from a Home tab, which has no
// message, channel or response_url to answer in.
func homeClick(cb slack.InteractionCallback) bool {
	return cb.Container.Type == "view" && cb.View.Type == slack.VTHomeTab
}

// Event handles an Events API event: app_home_opened on the Home tab
// (the Messages tab also sends it, and is left alone).
// https://api.slack.com/events/app_home_opened
func (h *Handler) Event(ctx context.Context, evt slackevents.EventsAPIEvent) {
	opened, ok := evt.InnerEvent.Data.(*slackevents.AppHomeOpenedEvent)
	if !ok || opened.Tab != "home" || opened.User == "" {
		return
	}
	log := h.d.Logger.With().Str("user", opened.User).Logger()
	if s := h.d.Config.Settings; (s.TeamID != "" && evt.TeamID != s.TeamID) || (s.AppID != "" && evt.APIAppID != "" && evt.APIAppID != s.AppID) {
		log.Warn().Str("team", evt.TeamID).Str("app", evt.APIAppID).Msg("Home opened from another workspace or app: ignored")
		return
	}
	if h.d.HomeStore == nil || h.d.Home == nil {
		return
	}
	if err := h.d.HomeStore.HomeOpened(ctx, opened.User, h.d.Now(), homeKeep); err != nil {
		log.Warn().Err(err).Msg("could not record that the Home was opened: it is shown, but not kept up to date")
	}
	h.publishHome(ctx, opened.User, "")
}

// answerOnHome shows text on the clicker's Home tab, above the rest.
func (h *Handler) answerOnHome(ctx context.Context, userID, text string) {
	if text != "" {
		h.home.mu.Lock()
		if h.home.notices == nil {
			h.home.notices = map[string]notice{}
		}
		now := h.d.Now()
		for u, n := range h.home.notices {
			if now.After(n.until) {
				delete(h.home.notices, u)
			}
		}
		h.home.notices[userID] = notice{text: text, until: now.Add(noticeFor)}
		h.home.mu.Unlock()
	}
	h.publishHome(ctx, userID, text)
}

// noticeOf is the answer still shown on a user's Home, "" when none is.
func (h *Handler) noticeOf(userID string) string {
	h.home.mu.Lock()
	defer h.home.mu.Unlock()
	n, ok := h.home.notices[userID]
	if !ok || h.d.Now().After(n.until) {
		return ""
	}
	return n.text
}

// publishHome renders a user's Home from Redis and publishes it. A user's
// publishes are made one at a time, so that an older view cannot land
// after a newer one from this replica.
func (h *Handler) publishHome(ctx context.Context, userID, noticeText string) {
	if h.d.Home == nil || h.d.HomeStore == nil || h.d.Releases == nil {
		return
	}
	hash := fnv.New32a()
	_, _ = hash.Write([]byte(userID))
	lock := &h.home.locks[hash.Sum32()%uint32(len(h.home.locks))]
	lock.Lock()
	defer lock.Unlock()
	log := h.d.Logger.With().Str("user", userID).Logger()
	if noticeText == "" {
		noticeText = h.noticeOf(userID)
	}
	v, err := h.homeView(ctx, userID)
	if err != nil {
		ref := newRef()
		log.Error().Err(err).Str("ref", ref).Msg("could not read the Home tab's releases")
		v = HomeView{Now: h.d.Now()}
		noticeText = somethingWrong(ref)
	}
	v.Notice = noticeText
	if err := h.d.Home.PublishHome(ctx, userID, HomeTab(v)); err != nil {
		log.Error().Err(err).Msg("could not publish the Home tab")
		return
	}
	log.Debug().Int("waiting", len(v.Waiting)).Int("proposed", len(v.Proposed)).Msg("Home tab published")
}

// homeView reads what a user's Home shows. Whether a release waits for
// their decision is the very check their click on Approve would pass.
func (h *Handler) homeView(ctx context.Context, userID string) (HomeView, error) {
	now := h.d.Now()
	cfg := h.d.Config
	names := make([]string, len(cfg.Pipelines))
	for i, p := range cfg.Pipelines {
		names[i] = p.Name
	}
	recent, err := h.d.HomeStore.Recent(ctx, names, homeRecent)
	if err != nil {
		return HomeView{}, err
	}
	who, err := h.clicker(ctx, userID, "")
	if err != nil {
		return HomeView{}, fmt.Errorf("looking the user up: %w", err)
	}
	v := HomeView{Now: now}
	var mine []*release.Release
	for _, p := range cfg.Pipelines {
		rs := recent[p.Name]
		pol, _ := h.policy(ctx, p)
		theirs := pol.MayApprove(who) || slices.ContainsFunc(rs, func(r *release.Release) bool { return r.Proposer == userID })
		if theirs {
			mine = append(mine, rs...)
		}
		if len(rs) == 0 || !rs[0].State.Open() {
			continue // the open release, if any, is the newest: one at a time
		}
		open := rs[0]
		if open.Proposer == userID {
			v.Proposed = append(v.Proposed, HomeRelease{Release: open})
		}
		if open.State == release.Proposed && pol.CheckApprover(open, who, open.ManifestDigest, now) == nil {
			v.Waiting = append(v.Waiting, HomeRelease{Release: open})
		}
	}
	slices.SortFunc(v.Waiting, func(a, b HomeRelease) int {
		return cmp.Or(a.Release.CreatedAt.Compare(b.Release.CreatedAt), cmp.Compare(a.Release.ID, b.Release.ID))
	})
	slices.SortFunc(v.Proposed, func(a, b HomeRelease) int {
		return cmp.Or(b.Release.CreatedAt.Compare(a.Release.CreatedAt), cmp.Compare(a.Release.ID, b.Release.ID))
	})
	slices.SortFunc(mine, func(a, b *release.Release) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	v.Recent = mine[:min(len(mine), homeRecent)]
	// Only what can be shown is looked up further: the manifests (services)
	// and permalinks of the waiting releases that fit, and of the proposed.
	shown := append(slices.Clone(v.Waiting[:min(len(v.Waiting), maxHomeBlocks/2)]), v.Proposed[:min(len(v.Proposed), maxHomeProposed)]...)
	ids := make([]string, len(shown))
	for i, hr := range shown {
		ids[i] = hr.Release.ID
	}
	manifests, err := h.d.HomeStore.Manifests(ctx, ids)
	if err != nil {
		h.d.Logger.Warn().Err(err).Str("user", userID).Msg("manifests unreadable: the Home names no services")
	}
	fill := func(list []HomeRelease) {
		for i := range list {
			r := list[i].Release
			if data, ok := manifests[r.ID]; ok {
				if m, err := release.ParseManifest(data); err == nil {
					list[i].Manifest = m
				}
			}
			list[i].Link = h.permalink(ctx, r)
		}
	}
	fill(v.Waiting[:min(len(v.Waiting), maxHomeBlocks/2)])
	fill(v.Proposed[:min(len(v.Proposed), maxHomeProposed)])
	return v, nil
}

// permalink links a release's message, cached: a message's link does not
// change. "" when it has none or Slack cannot say.
func (h *Handler) permalink(ctx context.Context, r *release.Release) string {
	if h.d.DMs == nil || r.Channel == "" || r.MessageTS == "" {
		return ""
	}
	key := r.Channel + " " + r.MessageTS
	h.home.mu.Lock()
	url, ok := h.home.links[key]
	h.home.mu.Unlock()
	if ok {
		return url
	}
	url, err := h.d.DMs.Permalink(ctx, r.Channel, r.MessageTS)
	if err != nil {
		h.d.Logger.Warn().Err(err).Str("release_id", r.ID).Msg("no permalink for the Home tab: it names the channel")
		return ""
	}
	h.home.mu.Lock()
	if h.home.links == nil || len(h.home.links) >= maxPermalinks {
		h.home.links = map[string]string{}
	}
	h.home.links[key] = url
	h.home.mu.Unlock()
	return url
}

// homeChanged asks HomeLoop to republish the Homes of those who can act on
// release id, never waiting: with the queue full the change is logged and
// their Homes catch up at the next change or opening.
func (h *Handler) homeChanged(id string) {
	if h.d.Home == nil || h.d.HomeStore == nil {
		return
	}
	select {
	case h.home.changes <- id:
	default:
		h.d.Logger.Warn().Str("release_id", id).Msg("the Home refresh queue is full: Homes catch up at the next change")
	}
}

// HomeLoop republishes, until ctx ends, the Homes of the people who opened
// theirs (within homeKeep) and can act on a release that changed: its
// proposer and its pipeline's approvers. Each person is queued once however
// many changes name them, and their Homes are published one after the
// other (the Slack client paces views.publish).
func (h *Handler) HomeLoop(ctx context.Context) error {
	var queue []string
	queued := map[string]bool{}
	take := func(id string) {
		for _, u := range h.homeAudience(ctx, id) {
			if !queued[u] {
				queued[u] = true
				queue = append(queue, u)
			}
		}
	}
	for {
		if len(queue) == 0 {
			select {
			case <-ctx.Done():
				return nil
			case id := <-h.home.changes:
				take(id)
			}
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case id := <-h.home.changes:
			take(id)
			continue
		default:
		}
		user := queue[0]
		queue = queue[1:]
		delete(queued, user)
		h.publishHome(ctx, user, "")
	}
}

// homeAudience are the people whose Home shows release id and who opened
// theirs lately: the proposer, those who approved it, and everyone who
// may approve its pipeline's releases.
func (h *Handler) homeAudience(ctx context.Context, id string) []string {
	log := h.d.Logger.With().Str("release_id", id).Logger()
	viewers, err := h.d.HomeStore.HomeViewers(ctx, h.d.Now().Add(-homeKeep), maxHomeAudience)
	if err != nil {
		log.Warn().Err(err).Msg("could not read who opened the Home: not refreshed")
		return nil
	}
	if len(viewers) == 0 {
		return nil
	}
	r, p, text := h.releaseAndPipeline(ctx, id)
	if text != "" {
		return nil
	}
	can := h.mayAct(ctx, r, p)
	var out []string
	for _, u := range viewers {
		if can[u] {
			out = append(out, u)
		}
	}
	log.Debug().Int("viewers", len(viewers)).Int("refreshed", len(out)).Msg("Homes to refresh")
	return out
}

// mayAct are the users who can act on r or see it change on their Home.
func (h *Handler) mayAct(ctx context.Context, r *release.Release, p *config.Pipeline) map[string]bool {
	can := map[string]bool{r.Proposer: true}
	for _, a := range r.Approvals {
		can[a.UserID] = true
	}
	var members map[string][]string
	for _, a := range p.Approvals.Approvers {
		if a.UserID != "" {
			can[a.UserID] = true
			continue
		}
		if members == nil {
			members = h.groupMembers(ctx)
		}
		for _, u := range members[a.Handle] {
			can[u] = true
		}
	}
	return can
}
