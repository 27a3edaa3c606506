package github_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/release-bot/release-bot/internal/drift/drifttest"
	"github.com/release-bot/release-bot/internal/github"
	"github.com/release-bot/release-bot/internal/github/githubtest"
	"github.com/release-bot/release-bot/internal/retry"
	"github.com/release-bot/release-bot/internal/secret"
	"github.com/release-bot/release-bot/internal/secret/secrettest"
)

const token = "ghp_s3cr3tT0k3nF0rT3sts_9c4e1a"

var (
	wf    = github.Workflow{Owner: "acme", Repo: "shop", File: "promote.yml", Ref: "main"}
	start = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
)

// promote is the fake's promote.yml for acme/shop; edit changes it.
func promote(edit ...func(*githubtest.Workflow)) githubtest.Workflow {
	w := githubtest.Workflow{Repo: "acme/shop", File: "promote.yml", QueueFor: 5 * time.Second}
	for _, e := range edit {
		e(&w)
	}
	return w
}

// harness is a client wired to a fake GitHub under /api/v3/, on one clock
// that the retry loop's sleeps move instead of sleeping.
type harness struct {
	srv *githubtest.Server
	c   *github.Client
	clk *drifttest.Clock // the time shared by the client, the fake and the retry loop's sleeps
	log *secrettest.Log

	mu    sync.Mutex
	waits []time.Duration
}

func (h *harness) sleep(ctx context.Context, d time.Duration) error {
	h.mu.Lock()
	h.waits = append(h.waits, d)
	h.mu.Unlock()
	h.clk.Advance(d)
	return ctx.Err()
}

// Waits returns the waits the client asked for (none were slept).
func (h *harness) Waits() []time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]time.Duration(nil), h.waits...)
}

func (h *harness) waited() time.Duration {
	var sum time.Duration
	for _, w := range h.Waits() {
		sum += w
	}
	return sum
}

func policy(sleep func(context.Context, time.Duration) error) retry.Policy {
	p := github.DefaultRetry()
	p.Sleep = sleep
	p.Jitter = func(n int64) int64 { return n - 1 }
	return p
}

// setup starts a fake with w declared and a client for it; edit may change the options.
func setup(t testing.TB, w githubtest.Workflow, edit ...func(*github.Options)) *harness {
	t.Helper()
	h := &harness{srv: githubtest.Start(t, token, w), clk: drifttest.NewClock(start), log: &secrettest.Log{}}
	h.srv.SetClock(h.clk.Now)
	h.c = newClient(t, h, edit...)
	t.Cleanup(func() { secrettest.AssertAbsent(t, []string{token}, h.log.String()) })
	return h
}

func newClient(t testing.TB, h *harness, edit ...func(*github.Options)) *github.Client {
	t.Helper()
	opts := github.Options{
		BaseURL:   h.srv.URL(),
		Token:     secret.New(token),
		Timeout:   2 * time.Second,
		Retry:     policy(h.sleep),
		Logger:    zerolog.New(h.log).Level(zerolog.DebugLevel),
		Clock:     h.clk.Now,
		UserAgent: "release-bot/test",
	}
	for _, e := range edit {
		e(&opts)
	}
	c, err := github.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ctx(t *testing.T) context.Context { return ctx2(t) }

// ctx2 is a context for a test or a benchmark, ended with it.
func ctx2(tb testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	tb.Cleanup(cancel)
	return c
}

// inputs are promote.yml's inputs for a release of services, in the default matrix style.
func inputs(releaseID string, services ...string) map[string]string {
	items := make([]map[string]string, len(services))
	for i, s := range services {
		items[i] = map[string]string{
			"service": s, "image": "244531986313.dkr.ecr.eu-central-1.amazonaws.com/" + s + "@sha256:" + fp(i),
			"digest": "sha256:" + fp(i),
		}
	}
	data, _ := json.Marshal(items)
	return map[string]string{"release_id": releaseID, "manifest_digest": "sha256:" + fp(99), "promotions": string(data)}
}

func fp(i int) string {
	const hex = "0123456789abcdef"
	b := make([]byte, 64)
	for j := range b {
		b[j] = hex[(i*7+j)%16]
	}
	return string(b)
}

// dispatched dispatches a release of services and returns its run id.
func dispatched(t testing.TB, h *harness, releaseID string, services ...string) int64 {
	t.Helper()
	res, err := h.c.Dispatch(ctx2(t), wf, inputs(releaseID, services...), releaseID)
	if err != nil || !res.Found {
		t.Fatalf("Dispatch = %+v, %v", res, err)
	}
	return res.RunID
}
