// Package kosli is release-bot's client of the Kosli REST API (v2): it reads
// environment diffs, snapshots and compliance verdicts, and records flows,
// trails and attestations. It implements the interfaces package release
// declares (Environments, ComplianceChecker, RunningReader).
//
// API reference: https://app.kosli.com/api/v2/doc/
package kosli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/remote"
	"github.com/release-bot/release-bot/internal/retry"
	"github.com/release-bot/release-bot/internal/secret"
)

// Compile-time checks that the client is what the domain asks for.
var (
	_ release.Environments      = (*Client)(nil)
	_ release.ComplianceChecker = (*Client)(nil)
	_ release.RunningReader     = (*Client)(nil)
)

// DefaultHost is Kosli's EU region; the US region is https://app.us.kosli.com.
const DefaultHost = "https://app.kosli.com"

// maxBody caps a successful response; the largest real ones (snapshots with
// policy decisions) are a few hundred KiB.
const maxBody = 32 << 20

// Options configure a Client. Host, Org and Token come from KOSLI_HOST,
// KOSLI_ORG and KOSLI_API_TOKEN, as the Kosli CLI names them.
type Options struct {
	// Host is Kosli's base URL, possibly with a path prefix (kept). Default DefaultHost.
	Host string
	// Org is the Kosli organisation; required.
	Org string
	// Token is the API token, sent as a bearer token and nowhere else.
	Token secret.Secret
	// HTTPClient sends the requests; nil means a new http.Client.
	HTTPClient *http.Client
	// Timeout bounds one attempt, reading the body included. Default 15s.
	Timeout time.Duration
	// Retry bounds the attempts; the zero value means retry.Default().
	Retry retry.Policy
	// UserAgent is sent on every request. Default "release-bot/dev".
	UserAgent string
	// Logger receives one debug line per attempt; the zero value logs nothing.
	Logger zerolog.Logger
	// Observe, when set, is called after every attempt with the endpoint's
	// route (e.g. "GET /env-diff/{org}"), the status (0 when no answer came) and the attempt's duration.
	Observe func(endpoint string, status int, d time.Duration)
}

// Client calls the Kosli API. It is safe for concurrent use.
type Client struct {
	base *url.URL
	host string // base without credentials, for messages
	org  string
	// token is behind a pointer: fmt does not call String on unexported
	// fields, and a Client copied into another struct would print a Secret's
	// value, but only a pointer's address.
	token     *secret.Secret
	http      *http.Client
	timeout   time.Duration
	policy    retry.Policy
	userAgent string
	log       zerolog.Logger
	rec       remote.Recorder
}

// New checks opts and returns a client. A host that is not an absolute
// http(s) URL, or an empty org, is an error.
func New(opts Options) (*Client, error) {
	host := opts.Host
	if host == "" {
		host = DefaultHost
	}
	u, err := url.Parse(host)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("kosli: host %q is not a URL like %s", remote.DescribeURL(host), DefaultHost)
	}
	if strings.TrimSpace(opts.Org) == "" {
		return nil, errors.New("kosli: no org given: set KOSLI_ORG")
	}
	c := &Client{
		base:      u,
		host:      strings.TrimRight(u.Redacted(), "/"),
		org:       opts.Org,
		token:     &opts.Token,
		http:      opts.HTTPClient,
		timeout:   opts.Timeout,
		policy:    opts.Retry,
		userAgent: opts.UserAgent,
		log:       opts.Logger,
		rec:       remote.Recorder{Observe: opts.Observe, Message: "kosli request"},
	}
	if c.http == nil {
		c.http = &http.Client{}
	}
	if c.timeout <= 0 {
		c.timeout = 15 * time.Second
	}
	if c.policy.Attempts == 0 {
		c.policy = retry.Default()
	}
	if c.userAgent == "" {
		c.userAgent = "release-bot/dev"
	}
	return c, nil
}

// String describes the client without its token.
func (c Client) String() string {
	return fmt.Sprintf("kosli.Client{host: %s, org: %s}", c.host, c.org)
}

// GoString is String, so that %#v cannot reach the token or the transport either.
func (c Client) GoString() string { return c.String() }

// Org is the organisation the client works in.
func (c *Client) Org() string { return c.org }

// call is one API operation: everything needed to send it again.
type call struct {
	method string
	// route names the endpoint with placeholders, for metrics and logs.
	route string
	// path holds the elements after /api/v2, unescaped; each is escaped on its own.
	path  []string
	query url.Values
	// body builds the request body afresh for each attempt (nil for none).
	body func() (io.Reader, string, error)
	// write marks a call that must not be repeated once Kosli may have acted on it.
	write bool
	// notFound, when set, phrases a 404 for a person.
	notFound string
}

// endpoint is the method and escaped API path: what errors show.
func (k call) endpoint() string {
	parts := make([]string, len(k.path))
	for i, p := range k.path {
		parts[i] = url.PathEscape(p)
	}
	return k.method + " /api/v2/" + strings.Join(parts, "/")
}

func (c *Client) urlFor(k call) *url.URL {
	u := *c.base
	_, escaped, _ := strings.Cut(k.endpoint(), " ")
	u.RawPath = strings.TrimRight(c.base.EscapedPath(), "/") + escaped
	u.Path, _ = url.PathUnescape(u.RawPath) // cannot fail: every element was escaped by PathEscape
	u.RawQuery = k.query.Encode()
	u.User = nil // credentials travel in the Authorization header only
	return &u
}

// do runs k under the retry policy and returns the body of the 2xx answer.
func (c *Client) do(ctx context.Context, k call) ([]byte, int, error) {
	classify := retryable
	if k.write {
		classify = retryableWrite
	}
	var (
		body   []byte
		status int
		n      int
	)
	err := retry.Do(ctx, c.policy, classify, func(ctx context.Context) error {
		n++
		var err error
		body, status, err = c.attempt(ctx, k, n)
		return err
	})
	return body, status, err
}

func (c *Client) attempt(ctx context.Context, k call, n int) ([]byte, int, error) {
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var (
		body  io.Reader
		ctype string
	)
	if k.body != nil {
		var err error
		if body, ctype, err = k.body(); err != nil {
			return nil, 0, fmt.Errorf("kosli: %s: building the request: %w", k.endpoint(), err)
		}
	}
	req, err := http.NewRequestWithContext(actx, k.method, c.urlFor(k).String(), body)
	if err != nil {
		return nil, 0, fmt.Errorf("kosli: %s: %s", k.endpoint(), secret.Scrub(err.Error(), *c.token))
	}
	req.Header.Set("Authorization", "Bearer "+c.token.Reveal())
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Accept", "application/json")
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}

	start := time.Now()
	data, status, err := c.send(ctx, req, k)
	c.rec.Record(c.log.Debug(), k.route, k.route, n, status, time.Since(start), err)
	return data, status, err
}

// send performs one HTTP exchange and reads the body before the attempt's
// timeout ends.
func (c *Client) send(ctx context.Context, req *http.Request, k call) ([]byte, int, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, 0, c.transportError(ctx, req.Context(), k, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, remote.MaxErrorBody))
		return nil, resp.StatusCode, c.apiError(k, resp, data)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, 0, c.transportError(ctx, req.Context(), k, err)
	}
	if len(data) > maxBody {
		return nil, resp.StatusCode, &DecodeError{Endpoint: k.endpoint(), Want: "a response of a sane size", Problem: fmt.Sprintf("more than %d bytes", maxBody)}
	}
	return data, resp.StatusCode, nil
}

func (c *Client) apiError(k call, resp *http.Response, body []byte) *APIError {
	e := &APIError{
		APIError: remote.APIError{
			Service:  "Kosli",
			Status:   resp.StatusCode,
			Message:  secret.Scrub(messageOf(body, resp.Header.Get("Content-Type")), *c.token),
			Endpoint: k.endpoint(),
		},
		RetryAfter: retry.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
	}
	switch {
	case e.Status == 401:
		e.Summary = ErrUnauthorized.Error()
	case e.Status == 403:
		e.Summary = fmt.Sprintf("the Kosli API token lacks access to org %q", c.org)
	case e.Status == 404 && k.notFound != "":
		e.Summary = k.notFound
	}
	return e
}

// transportError is an attempt that got no answer; actx is the attempt's context.
func (c *Client) transportError(ctx, actx context.Context, k call, err error) error {
	if err := remote.Abandoned(ctx, "kosli", k.endpoint()); err != nil {
		return err
	}
	return &UnreachableError{remote.Unreachable(actx, "Kosli", c.host, k.endpoint(), c.timeout, err, c.scrub)}
}

func (c *Client) scrub(text string) string { return secret.Scrub(text, *c.token) }

// decodeJSON reads a 2xx body that must be a JSON object (open '{') or
// array (open '['), and says what it got otherwise.
func decodeJSON(k call, data []byte, open byte, want string, v any) error {
	t := bytes.TrimSpace(data)
	if len(t) == 0 || t[0] != open {
		return &DecodeError{Endpoint: k.endpoint(), Want: want, Problem: describe(data)}
	}
	if err := json.Unmarshal(t, v); err != nil {
		return &DecodeError{Endpoint: k.endpoint(), Want: want, Problem: remote.Clip(err.Error()), err: err}
	}
	return nil
}
