package github

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	gh "github.com/google/go-github/v60/github"

	"github.com/release-bot/release-bot/internal/remote"
	"github.com/release-bot/release-bot/internal/retry"
	"github.com/release-bot/release-bot/internal/secret"
)

// call is one API operation, as errors and logs name it.
type call struct {
	method string
	// path is below the base URL, escaped, without a query: "repos/acme/app/actions/runs/7".
	path string
	// route is the endpoint with placeholders (one of Endpoints), for metrics.
	route     string
	releaseID string
	// write marks a call that must not be repeated once GitHub may have acted on it.
	write bool
	// notFound, when set, says what a 404 means here.
	notFound string
}

func (k call) endpoint() string { return k.method + " /" + k.path }

// do runs send under the retry policy, one go-github client and one timeout per attempt.
func (c *Client) do(ctx context.Context, k call, send func(ctx context.Context, api *gh.Client) (*gh.Response, error)) error {
	n := 0
	return retry.Do(ctx, c.policy, retryable(k.write, c.policy.Max), func(ctx context.Context) error {
		n++
		actx, cancel := context.WithTimeout(ctx, c.timeout)
		defer cancel()
		start := time.Now()
		resp, err := send(actx, c.api())
		err = c.errorOf(ctx, actx, k, resp, err)
		status := 0
		if resp != nil && resp.Response != nil {
			status = resp.StatusCode
		}
		ev := c.log.Debug()
		var rl *RateLimitError
		if errors.As(err, &rl) {
			ev = c.log.Warn().Dur("retry_after", rl.RetryAfter).Bool("secondary", rl.Secondary)
		}
		if k.releaseID != "" {
			ev = ev.Str("release_id", k.releaseID)
		}
		rec := c.rec
		var invalid *ValidationError
		if errors.As(err, &invalid) {
			rec.Observe = nil // refused before sending
		}
		rec.Record(ev, k.route, k.endpoint(), n, status, time.Since(start), err)
		return err
	})
}

// eachPage runs send for page 1, 2, … while GitHub names a next page, at
// most maxPages pages; each page is one call under the retry policy.
func (c *Client) eachPage(ctx context.Context, k call, maxPages int, send func(ctx context.Context, api *gh.Client, page int) (*gh.Response, error)) error {
	for page := 1; page <= maxPages; page++ {
		next := 0
		err := c.do(ctx, k, func(ctx context.Context, api *gh.Client) (*gh.Response, error) {
			resp, err := send(ctx, api, page)
			if resp != nil {
				next = resp.NextPage
			}
			return resp, err
		})
		if err != nil || next == 0 {
			return err
		}
	}
	return nil
}

// errorOf turns what go-github returned for one attempt into this package's
// errors; nil for success, 202 Accepted included.
func (c *Client) errorOf(ctx, actx context.Context, k call, resp *gh.Response, err error) error {
	if err == nil {
		return nil
	}
	var accepted *gh.AcceptedError
	if errors.As(err, &accepted) {
		return nil
	}
	var invalid *ValidationError
	if errors.As(err, &invalid) {
		return invalid // refused before sending
	}
	if err := remote.Abandoned(ctx, "github", k.endpoint()); err != nil {
		return err
	}
	var app *ghinstallation.HTTPError
	if errors.As(err, &app) && app.Response != nil {
		return c.appTokenError(app)
	}
	if resp != nil && resp.Response != nil && resp.StatusCode >= 300 {
		return c.apiError(k, resp.Response, err)
	}
	if resp != nil && resp.Response != nil && actx.Err() == nil {
		// A 2xx whose body go-github could not decode.
		return fmt.Errorf("github: %s answered %d with a body that is not what the endpoint returns: %s",
			k.endpoint(), resp.StatusCode, c.scrub(err.Error()))
	}
	return &UnreachableError{remote.Unreachable(actx, "GitHub", "", k.endpoint(), c.timeout, err, c.scrub)}
}

// apiError reads a non-2xx answer: a rate limit, or an APIError with a hint.
func (c *Client) apiError(k call, r *http.Response, err error) error {
	msg := c.scrub(messageOf(r, err))
	remaining := r.Header.Get("X-RateLimit-Remaining")
	var abuse *gh.AbuseRateLimitError
	limited := r.StatusCode == http.StatusTooManyRequests ||
		(r.StatusCode == http.StatusForbidden && (remaining == "0" || r.Header.Get("Retry-After") != "" || errors.As(err, &abuse)))
	if limited {
		now := c.now()
		rl := &RateLimitError{Status: r.StatusCode, Message: msg, Endpoint: k.endpoint(), Secondary: remaining != "0",
			RetryAfter: retry.ParseRetryAfter(r.Header.Get("Retry-After"), now)}
		if !rl.Secondary {
			if secs, perr := strconv.ParseInt(r.Header.Get("X-RateLimit-Reset"), 10, 64); perr == nil && secs > 0 {
				rl.Reset = time.Unix(secs, 0)
				if rl.RetryAfter == 0 && rl.Reset.After(now) {
					rl.RetryAfter = rl.Reset.Sub(now)
				}
			}
		}
		return rl
	}
	e := &APIError{remote.APIError{Service: "GitHub", Status: r.StatusCode, Message: msg, Endpoint: k.endpoint()}}
	switch e.Status {
	case http.StatusUnauthorized:
		e.Summary = "GitHub rejected the credentials: check " + c.auth
	case http.StatusForbidden:
		e.Summary = "the GitHub credentials lack permission: they need Actions read and write on the workflow's repository" +
			" (a fine-grained token's \"Actions: read and write\", a classic token's \"repo\", or the App's Actions permission)"
	case http.StatusNotFound:
		e.Summary = k.notFound
	}
	return e
}

// appTokenError is the installation token endpoint refusing the App.
func (c *Client) appTokenError(he *ghinstallation.HTTPError) error {
	r := he.Response
	msg := ""
	if r.Body != nil {
		body, _ := io.ReadAll(io.LimitReader(r.Body, remote.MaxErrorBody))
		_ = r.Body.Close()
		msg = c.scrub(remote.Summary(string(body)))
	}
	return &APIError{remote.APIError{
		Service: "GitHub", Status: r.StatusCode, Message: msg,
		Endpoint: fmt.Sprintf("POST /app/installations/%d/access_tokens", he.InstallationID),
		Summary:  "GitHub would not give the App an installation token: check " + c.auth,
	}}
}

// messageOf is GitHub's message from go-github's error, else the body's first words.
func messageOf(r *http.Response, err error) string {
	var (
		er    *gh.ErrorResponse
		rl    *gh.RateLimitError
		abuse *gh.AbuseRateLimitError
	)
	switch {
	case errors.As(err, &er) && er.Message != "":
		msg := er.Message
		for _, d := range er.Errors {
			if d.Message != "" {
				msg += "; " + d.Message
			}
		}
		return remote.Summary(msg)
	case errors.As(err, &rl) && rl.Message != "":
		return remote.Summary(rl.Message)
	case errors.As(err, &abuse) && abuse.Message != "":
		return remote.Summary(abuse.Message)
	}
	if r.Body == nil {
		return ""
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, remote.MaxErrorBody)) // go-github put the body back
	text := strings.TrimSpace(string(body))
	if strings.HasPrefix(text, "<") {
		return "an HTML page"
	}
	return remote.Summary(text)
}

func (c *Client) scrub(text string) string {
	if c.token == nil {
		return text
	}
	return secret.Scrub(text, *c.token)
}
