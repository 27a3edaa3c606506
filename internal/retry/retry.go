// Package retry is the one retry loop every adapter uses: bounded attempts,
// exponential backoff with equal jitter (each wait is half its window fixed
// and half random), a server's Retry-After honoured, and the context
// respected while waiting.
package retry

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// Policy bounds a retry loop. The zero value is not useful; start from Default.
type Policy struct {
	// Attempts is the total number of tries, the first one included.
	Attempts int
	// Base is the backoff before the second attempt; it doubles each time.
	Base time.Duration
	// Max caps one wait, Retry-After included.
	Max time.Duration
	// Sleep waits for d or until ctx ends. Tests inject a recorder; nil means a real timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter returns a value in [0, n), the random half of a backoff. Tests
	// inject a fixed one; nil means math/rand.
	Jitter func(n int64) int64
}

// Default is the policy of the Kosli CLI: 4 attempts, backoff from 1 s up to 30 s.
func Default() Policy {
	return Policy{Attempts: 4, Base: time.Second, Max: 30 * time.Second}
}

// Decision is what the classifier says of one attempt's error.
type Decision struct {
	// Retry is true when another attempt may succeed.
	Retry bool
	// After is a server-requested wait (Retry-After); zero means use the backoff.
	After time.Duration
}

// Stop is the decision not to retry.
var Stop = Decision{}

// Again is the decision to retry after the policy's backoff.
var Again = Decision{Retry: true}

// Do calls op until it succeeds, classify says stop, the attempts run out or
// ctx ends. It returns op's last error (never a wrapped context error when op
// itself produced a more telling one).
func Do(ctx context.Context, p Policy, classify func(error) Decision, op func(ctx context.Context) error) error {
	attempts := max(p.Attempts, 1)
	var err error
	for attempt := 1; ; attempt++ {
		err = op(ctx)
		if err == nil {
			return nil
		}
		if attempt >= attempts || ctx.Err() != nil {
			return err
		}
		d := classify(err)
		if !d.Retry {
			return err
		}
		wait := p.backoff(attempt)
		if d.After > 0 {
			wait = d.After
		}
		if p.Max > 0 && wait > p.Max {
			wait = p.Max
		}
		if serr := p.sleep(ctx, wait); serr != nil {
			return errors.Join(err, serr)
		}
	}
}

// backoff is equal jitter over the window Base·2^(attempt-1), capped at
// Max: a wait drawn uniformly from [window/2, window]. Full jitter ([0,
// window]) could wait nothing at all and hit a failing server again at once.
func (p Policy) backoff(attempt int) time.Duration {
	ceiling := p.Base << (attempt - 1)
	if ceiling <= 0 || (p.Max > 0 && ceiling > p.Max) {
		ceiling = p.Max
	}
	if ceiling <= 0 {
		return 0
	}
	jitter := p.Jitter
	if jitter == nil {
		jitter = rand.Int64N
	}
	// Half fixed, half random: never a zero wait, never a synchronised herd.
	half := int64(ceiling) / 2
	return time.Duration(half + jitter(half+1))
}

func (p Policy) sleep(ctx context.Context, d time.Duration) error {
	if p.Sleep != nil {
		return p.Sleep(ctx, d)
	}
	return Sleep(ctx, d)
}

// Sleep waits for d or until ctx ends, whichever is first.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// ParseRetryAfter reads an HTTP Retry-After value: delta seconds or an HTTP
// date. It returns zero for an empty or unreadable value.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	var secs int64
	ok := true
	for _, c := range v {
		if c < '0' || c > '9' {
			ok = false
			break
		}
		secs = secs*10 + int64(c-'0')
		if secs > 86400 {
			secs = 86400
		}
	}
	if ok {
		return time.Duration(secs) * time.Second
	}
	if t, err := time.Parse(time.RFC1123, v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}
