package kosli_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/release-bot/release-bot/internal/kosli"
	"github.com/release-bot/release-bot/internal/kosli/kositest"
	"github.com/release-bot/release-bot/internal/retry"
	"github.com/release-bot/release-bot/internal/secret"
	"github.com/release-bot/release-bot/internal/secret/secrettest"
)

const (
	org   = "cyber-dojo"
	token = "kosli-secret-token-5f2a9c71"
)

// harness is a client wired to a fresh fake Kosli served under a path prefix,
// with the retry waits and the log captured.
type harness struct {
	srv *kositest.Server
	c   *kosli.Client
	log *secrettest.Log

	mu       sync.Mutex
	waits    []time.Duration
	observed []observation
}

type observation struct {
	endpoint string
	status   int
}

func (h *harness) sleep(ctx context.Context, d time.Duration) error {
	h.mu.Lock()
	h.waits = append(h.waits, d)
	h.mu.Unlock()
	return ctx.Err()
}

// Waits returns the waits the retry loop asked for (none were slept).
func (h *harness) Waits() []time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]time.Duration(nil), h.waits...)
}

func (h *harness) Observed() []observation {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]observation(nil), h.observed...)
}

// setup starts a fake for org and a client for it; edit may change the options.
func setup(t *testing.T, edit ...func(*kosli.Options)) *harness {
	t.Helper()
	h := &harness{srv: kositest.Start(t, org, token), log: &secrettest.Log{}}
	p := retry.Default()
	p.Sleep = h.sleep
	p.Jitter = func(n int64) int64 { return n - 1 }
	opts := kosli.Options{
		Host:    h.srv.URL(),
		Org:     org,
		Token:   secret.New(token),
		Timeout: 2 * time.Second,
		Retry:   p,
		Logger:  zerolog.New(h.log).Level(zerolog.DebugLevel),
		Observe: func(endpoint string, status int, _ time.Duration) {
			h.mu.Lock()
			h.observed = append(h.observed, observation{endpoint, status})
			h.mu.Unlock()
		},
	}
	for _, e := range edit {
		e(&opts)
	}
	c, err := kosli.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	h.c = c
	t.Cleanup(func() { secrettest.AssertAbsent(t, []string{token}, h.log.String()) })
	return h
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

const (
	fpWeb   = "337fa91d02fa59729aca2941bbfebf999d1c5ae74b1492a4c99a33a925c7f052"
	fpNginx = "0fd1eae4a2ab75d4d08106f86af3945a9e95b60693a4b9e4e44b59cc5887fdd1"
	fpOld   = "0f803b05be83006c77e8c371b1f999eaabfb2feca9abef64332633362b36ca94"
)

func running(fp, flow string, n int) kositest.Artifact {
	return kositest.Artifact{
		Name: "244531986313.dkr.ecr.eu-central-1.amazonaws.com/" + flow + "@sha256:" + fp, Fingerprint: fp,
		Flow: flow + "-ci", CommitURL: "https://github.com/cyber-dojo/" + flow + "/commit/fa32058a046015786d1589e16af7da0973f2e726",
		Instances: n, Started: []time.Time{time.Unix(1740904271, 0)}, Compliant: true,
	}
}
