package rollout

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
	"github.com/slack-go/slack"

	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/store"
)

// replyEnv is two replicas' view of one Redis, a thread that records what is
// posted in it and answers conversations.replies from it.
type replyEnv struct {
	mr     *miniredis.Miniredis
	st     *store.Store
	thread *recThread
}

func newReplyEnv(t *testing.T) *replyEnv {
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { rdb.Close() })
	return &replyEnv{mr: mr, st: store.New(rdb, store.Options{}), thread: &recThread{}}
}

func (e *replyEnv) replica(owner string) *Rollout {
	return New(Options{Releases: e.st, Owner: owner, Thread: e.thread, Replies: e.thread, LeaseTTL: time.Minute})
}

type recThread struct {
	mu      sync.Mutex
	texts   []string
	readErr error
	reads   int
}

func (t *recThread) Reply(_ context.Context, _ *release.Release, text string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.texts = append(t.texts, text)
}

func (*recThread) Refresh(context.Context, string) *release.Release { return nil }

func (t *recThread) Replies(_ context.Context, _, ts string) ([]slack.Message, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.reads++
	if t.readErr != nil {
		return nil, t.readErr
	}
	out := []slack.Message{{Msg: slack.Msg{Timestamp: ts, Text: "the release", BotID: "B1"}}}
	for _, text := range t.texts {
		out = append(out, slack.Message{Msg: slack.Msg{Timestamp: "2.0", ThreadTimestamp: ts, Text: text, BotID: "B1"}})
	}
	return out, nil
}

func (t *recThread) posted() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.texts...)
}

var threadRel = &release.Release{ID: "rel", Channel: "C1", MessageTS: "1.0"}

// A replica that claimed a reply and died leaves a claim that lapses;
// another replica posts the reply then, once.
func TestAReplyWhoseClaimLapsedIsPostedByAnother(t *testing.T) {
	e := newReplyEnv(t)
	ctx := context.Background()
	if c, _ := e.st.ClaimReply(ctx, "leg:rel:web", "dead", time.Minute); c != store.ReplyFirst {
		t.Fatal("the dead replica's claim")
	}
	b := e.replica("b")
	if posted, settled := b.replyOnce(ctx, threadRel, "leg:rel:web", "web deployed", zerolog.Nop()); posted || settled {
		t.Fatalf("posted %v, settled %v while the dead replica's claim is live", posted, settled)
	}
	e.mr.FastForward(time.Minute)
	if posted, settled := b.replyOnce(ctx, threadRel, "leg:rel:web", "web deployed", zerolog.Nop()); !posted || !settled {
		t.Fatalf("posted %v, settled %v after the claim lapsed", posted, settled)
	}
	if got := e.thread.posted(); len(got) != 1 {
		t.Fatalf("thread: %q", got)
	}
	for _, r := range []*Rollout{b, e.replica("c")} {
		if posted, settled := r.replyOnce(ctx, threadRel, "leg:rel:web", "web deployed", zerolog.Nop()); posted || !settled {
			t.Errorf("once posted: posted %v, settled %v", posted, settled)
		}
	}
	if got := e.thread.posted(); len(got) != 1 {
		t.Errorf("thread: %q", got)
	}
}

// A replica that posted a reply and died before marking it: the reply is
// found in the thread and not posted again.
func TestAReplyWhoseClaimLapsedIsLookedForFirst(t *testing.T) {
	e := newReplyEnv(t)
	ctx := context.Background()
	if c, _ := e.st.ClaimReply(ctx, "leg:rel:web", "dead", time.Minute); c != store.ReplyFirst {
		t.Fatal("the dead replica's claim")
	}
	e.thread.Reply(ctx, threadRel, "web deployed") // it went out; the mark did not
	e.mr.FastForward(time.Minute)
	b := e.replica("b")
	if posted, settled := b.replyOnce(ctx, threadRel, "leg:rel:web", "web deployed", zerolog.Nop()); posted || !settled {
		t.Fatalf("posted %v, settled %v", posted, settled)
	}
	if got := e.thread.posted(); len(got) != 1 {
		t.Errorf("thread: %q", got)
	}
	if c, _ := e.st.ClaimReply(ctx, "leg:rel:web", "c", time.Minute); c != store.ReplyPosted {
		t.Errorf("the reply found was not marked posted: %v", c)
	}
}

// A thread that cannot be read holds a lapsed reply back a few looks, then
// lets it go out: a reply twice is better than none.
func TestALapsedReplyThatCannotBeCheckedIsPostedAfterAFewLooks(t *testing.T) {
	e := newReplyEnv(t)
	ctx := context.Background()
	e.st.ClaimReply(ctx, "leg:rel:web", "dead", time.Minute)
	e.mr.FastForward(time.Minute)
	e.thread.readErr = errors.New("missing_scope")
	b := e.replica("b")
	for i := range maxUnchecked - 1 {
		if posted, settled := b.replyOnce(ctx, threadRel, "leg:rel:web", "web deployed", zerolog.Nop()); posted || settled {
			t.Fatalf("look %d: posted %v, settled %v", i+1, posted, settled)
		}
	}
	if posted, _ := b.replyOnce(ctx, threadRel, "leg:rel:web", "web deployed", zerolog.Nop()); !posted {
		t.Fatal("never posted")
	}
	if e.thread.reads != maxUnchecked {
		t.Errorf("%d looks", e.thread.reads)
	}
}

// The claim is renewed while the post waits (Slack's pacing comes after
// the claim), so nobody takes over a reply being posted.
func TestAReplyBeingPostedKeepsItsClaim(t *testing.T) {
	e := newReplyEnv(t)
	ctx := context.Background()
	slow := &slowThread{recThread: e.thread, release: make(chan struct{}), started: make(chan struct{})}
	a := New(Options{Releases: e.st, Owner: "a", Thread: slow, Replies: e.thread, LeaseTTL: 300 * time.Millisecond})
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.replyOnce(ctx, threadRel, "leg:rel:web", "web deployed", zerolog.Nop())
	}()
	<-slow.started
	time.Sleep(time.Second) // three claims' worth: renewed meanwhile
	if c, _ := e.st.ClaimReply(ctx, "leg:rel:web", "b", time.Minute); c != store.ReplyHeld {
		t.Errorf("another replica took a reply being posted: %v", c)
	}
	close(slow.release)
	<-done
	if c, _ := e.st.ClaimReply(ctx, "leg:rel:web", "b", time.Minute); c != store.ReplyPosted {
		t.Errorf("after the post: %v", c)
	}
}

type slowThread struct {
	*recThread
	started, release chan struct{}
}

func (s *slowThread) Reply(ctx context.Context, r *release.Release, text string) {
	close(s.started)
	<-s.release
	s.recThread.Reply(ctx, r, text)
}

// failingStore loses the answer of the first ClaimReply, whose write landed.
type failingStore struct {
	Releases
	once sync.Once
}

func (f *failingStore) ClaimReply(ctx context.Context, key, owner string, ttl time.Duration) (store.ReplyClaim, error) {
	c, err := f.Releases.ClaimReply(ctx, key, owner, ttl)
	lost := false
	f.once.Do(func() { lost = true })
	if lost {
		return store.ReplyHeld, errors.New("EOF")
	}
	return c, err
}

func TestAReplyClaimSurvivesALostAnswer(t *testing.T) {
	e := newReplyEnv(t)
	ctx := context.Background()
	r := New(Options{Releases: &failingStore{Releases: e.st}, Owner: "a", Thread: e.thread, Replies: e.thread, LeaseTTL: time.Minute})
	if posted, settled := r.replyOnce(ctx, threadRel, "leg:rel:web", "web deployed", zerolog.Nop()); !posted || !settled {
		t.Fatalf("posted %v, settled %v", posted, settled)
	}
	if e.thread.reads != 0 {
		t.Error("the owner's own claim was taken for a lapsed one")
	}
}
