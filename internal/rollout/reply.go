package rollout

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/slack-go/slack"

	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/retry"
	"github.com/release-bot/release-bot/internal/store"
)

// A thread reply that tells of a leg goes out once, whichever replica
// follows the run and whenever one dies. Before posting, a replica takes a
// short claim on the reply (LeaseTTL), renews it while the post waits for
// Slack's pacing and is sent, and marks the reply posted for good once it
// is. A replica that dies in between leaves a claim that lapses: the next
// one to claim the reply is told so, and looks for the reply's text in the
// thread before posting it, since it may be out already.

// maxUnchecked is how many failed looks at a thread a lapsed reply waits
// for before it is posted unchecked: a reply twice is better than none.
const maxUnchecked = 3

// replyOnce posts the reply named key unless it is known to be in the
// thread. posted says it was sent now; settled says it is in the thread (or
// was given to Slack): false while another replica's claim on it is live,
// or while a lapsed claim could not be checked, so that the caller looks
// again later.
func (r *Rollout) replyOnce(ctx context.Context, rel *release.Release, key, text string, log zerolog.Logger) (posted, settled bool) {
	r.mu.Lock()
	sent := r.posted[rel.ID][key]
	r.mu.Unlock()
	if sent {
		return false, true
	}
	claim, err := r.claimReply(ctx, key)
	if err != nil {
		log.Warn().Err(err).Str("reply", key).Msg("claiming a thread reply")
		return false, false
	}
	switch claim {
	case store.ReplyHeld:
		return false, false
	case store.ReplyPosted:
		r.remember(rel.ID, key)
		return false, true
	case store.ReplyLapsed:
		found, err := r.inThread(ctx, rel, text)
		switch {
		case err != nil && r.failedLook(key) < maxUnchecked:
			log.Warn().Err(err).Str("reply", key).Msg("could not look for a reply whose claim lapsed; looking again later")
			return false, false
		case err != nil:
			log.Error().Err(err).Str("reply", key).Msg("could not look for a reply whose claim lapsed; posting it unchecked")
		case found:
			log.Info().Str("reply", key).Msg("a reply whose claim lapsed is in the thread already")
			r.markPosted(ctx, rel.ID, key, log)
			return false, true
		default:
			log.Info().Str("reply", key).Msg("a reply whose claim lapsed is not in the thread: posting it")
		}
	}
	stop := r.keepClaim(ctx, key, log)
	r.o.Thread.Reply(ctx, rel, text)
	stop()
	r.markPosted(ctx, rel.ID, key, log)
	return true, true
}

// claimReply asks for the claim, again after an error: a retry learns
// whether the first attempt's write landed.
func (r *Rollout) claimReply(ctx context.Context, key string) (store.ReplyClaim, error) {
	var err error
	for attempt := range 3 {
		var c store.ReplyClaim
		if c, err = r.o.Releases.ClaimReply(ctx, key, r.o.Owner, r.o.LeaseTTL); err == nil {
			return c, nil
		}
		if retry.Sleep(ctx, time.Duration(attempt+1)*200*time.Millisecond) != nil {
			break
		}
	}
	return store.ReplyHeld, err
}

// keepClaim renews the claim on key until the returned stop is called.
func (r *Rollout) keepClaim(ctx context.Context, key string, log zerolog.Logger) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(r.o.LeaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.o.LeaseTTL/3)
				ok, err := r.o.Releases.RenewReply(rctx, key, r.o.Owner, r.o.LeaseTTL)
				cancel()
				if err != nil || !ok {
					log.Warn().Err(err).Str("reply", key).Msg("could not renew the claim on a reply being posted")
				}
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// markPosted records the reply as in the thread, here and in Redis, even
// once shutdown has begun. Should Redis not take it, the claim lapses and
// the next claimant finds the reply in the thread.
func (r *Rollout) markPosted(ctx context.Context, id, key string, log zerolog.Logger) {
	r.remember(id, key)
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	var err error
	for attempt := range 3 {
		if err = r.o.Releases.MarkReplyPosted(mctx, key, r.o.Owner); err == nil {
			return
		}
		if retry.Sleep(mctx, time.Duration(attempt+1)*200*time.Millisecond) != nil {
			break
		}
	}
	log.Warn().Err(err).Str("reply", key).Msg("could not mark a thread reply posted")
}

func (r *Rollout) remember(id, key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.posted[id] == nil {
		r.posted[id] = map[string]bool{}
	}
	r.posted[id][key] = true
	delete(r.unchecked, key)
}

// failedLook counts a failed look at the thread for key and returns the count.
func (r *Rollout) failedLook(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.unchecked[key]++
	return r.unchecked[key]
}

// inThread reports whether the bot's replies in the release's thread hold
// text, the reply's marker: a leg's reply is made only of what does not
// change once the leg has ended (the artifact, the job's conclusion, times
// and link), so the text an earlier attempt posted is the text posted now.
func (r *Rollout) inThread(ctx context.Context, rel *release.Release, text string) (bool, error) {
	if r.o.Replies == nil {
		return false, errNoReader
	}
	if rel.MessageTS == "" {
		fresh, err := r.o.Releases.Get(ctx, rel.ID)
		if err != nil {
			return false, err
		}
		if rel = fresh; rel.MessageTS == "" {
			return false, nil // no thread yet: nothing can have been posted in it
		}
	}
	msgs, err := r.o.Replies.Replies(ctx, rel.Channel, rel.MessageTS)
	if err != nil {
		return false, err
	}
	for _, m := range msgs {
		if m.Timestamp != rel.MessageTS && fromBot(m) && sameReply(m.Text, text) {
			return true, nil
		}
	}
	return false, nil
}

func fromBot(m slack.Message) bool { return m.BotID != "" || m.SubType == slack.MsgSubTypeBotMessage }

// sameReply compares a reply's text as Slack returns it with the text the
// bot would post, which Slack may have shortened (the fallback text is cut
// with an ellipsis when the section is long).
func sameReply(got, want string) bool {
	got, want = strings.TrimSpace(got), strings.TrimSpace(want)
	if got == want {
		return true
	}
	cut := strings.TrimSuffix(got, "…")
	return len(cut) >= 200 && cut != got && strings.HasPrefix(want, cut)
}

var errNoReader = errors.New("rollout: no thread reader configured")
