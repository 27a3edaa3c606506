// Package github dispatches release-bot's promotion workflow on GitHub
// Actions and follows the run it starts: the run, its jobs, and cancelling
// it. It is built on go-github v60, authenticates with a token or as a GitHub
// App installation, answers in typed errors, retries reads through the one
// retry loop (internal/retry) honouring GitHub's primary and secondary rate
// limits, and revalidates every GET with its ETag so that polling an
// unchanged run costs no rate limit.
//
// API reference: https://docs.github.com/rest/actions
package github

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	gh "github.com/google/go-github/v60/github"
	"github.com/rs/zerolog"

	"github.com/release-bot/release-bot/internal/remote"
	"github.com/release-bot/release-bot/internal/retry"
	"github.com/release-bot/release-bot/internal/secret"
)

// DefaultBaseURL is GitHub.com's REST API. GitHub Enterprise Server's is
// https://<host>/api/v3/.
const DefaultBaseURL = "https://api.github.com/"

// Defaults for the zero values of Options.
const (
	DefaultTimeout       = 20 * time.Second
	DefaultFindRunWithin = 30 * time.Second
	defaultUserAgent     = "release-bot/dev"
)

// DefaultRetry is the retry policy of the zero Options.Retry: 4 attempts,
// backoff from 1 s, and no single wait longer than 2 minutes. Max is also
// the longest rate-limit wait a call rides out itself; a longer one (a
// primary limit resetting in 40 minutes) comes back as a *RateLimitError
// whose Reset the caller schedules by.
func DefaultRetry() retry.Policy {
	return retry.Policy{Attempts: 4, Base: time.Second, Max: 2 * time.Minute}
}

// App is a GitHub App installation to act as, instead of a token. The key
// is given either as PEM bytes or as the path of a PEM file.
type App struct {
	// AppID is the App's id (GITHUB_APP_ID).
	AppID int64
	// InstallationID is the installation on the owner of the workflow's repository (GITHUB_APP_INSTALLATION_ID).
	InstallationID int64
	// PrivateKeyPEM is the App's private key; never printed.
	PrivateKeyPEM []byte
	// PrivateKeyFile is the path of the App's private key (GITHUB_APP_PRIVATE_KEY_FILE), used when PrivateKeyPEM is empty.
	PrivateKeyFile string
}

// String describes the App without its key.
func (a App) String() string {
	key := "no key"
	switch {
	case len(a.PrivateKeyPEM) > 0:
		key = "key " + secret.Redacted
	case a.PrivateKeyFile != "":
		key = "key file " + a.PrivateKeyFile
	}
	return fmt.Sprintf("github.App{app: %d, installation: %d, %s}", a.AppID, a.InstallationID, key)
}

// GoString is String, so that %#v does not print the key either.
func (a App) GoString() string { return a.String() }

// MarshalJSON encodes the App without its key.
func (a App) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf(`{"app_id":%d,"installation_id":%d,"private_key_file":%q}`,
		a.AppID, a.InstallationID, a.PrivateKeyFile)), nil
}

// Options configure a Client. Exactly one of Token and App is set.
type Options struct {
	// BaseURL is the REST API's base (GITHUB_API_URL), default DefaultBaseURL;
	// for GitHub Enterprise Server https://ghe.example/api/v3/. Its path is kept.
	BaseURL string
	// Token is a personal access token or an App's installation token
	// (GITHUB_TOKEN) with Actions read and write on the workflow's repository.
	Token secret.Secret
	// App authenticates as a GitHub App installation instead of Token.
	App *App
	// HTTPClient's transport sends the requests; nil means http.DefaultTransport.
	HTTPClient *http.Client
	// Timeout bounds one request, reading the answer included. Default DefaultTimeout.
	Timeout time.Duration
	// Retry bounds the attempts; the zero value means DefaultRetry(). Tests inject Sleep.
	Retry retry.Policy
	// Logger receives one debug line per request; the zero value logs nothing.
	Logger zerolog.Logger
	// Clock tells the time for rate-limit resets and for finding runs; nil means time.Now.
	Clock func() time.Time
	// UserAgent is sent on every request. Default "release-bot/dev".
	UserAgent string
	// FindRunWithin is how long Dispatch looks for the run when GitHub gave
	// no run id. Default DefaultFindRunWithin; the caller looks longer with WaitForRun.
	FindRunWithin time.Duration
	// Observe, when set, is called after every attempt that was sent with
	// the endpoint's route (one of Endpoints), the status (0 when no answer
	// came) and the attempt's duration.
	Observe func(endpoint string, status int, d time.Duration)
}

// The routes of the endpoints the client calls, as Observe names them.
const (
	RouteDispatch  = "POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches"
	RouteListRuns  = "GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs"
	RouteGetRun    = "GET /repos/{owner}/{repo}/actions/runs/{run_id}"
	RouteListJobs  = "GET /repos/{owner}/{repo}/actions/runs/{run_id}/jobs"
	RouteCancelRun = "POST /repos/{owner}/{repo}/actions/runs/{run_id}/cancel"
)

// Endpoints lists every route the client calls, for metrics at zero.
func Endpoints() []string {
	return []string{RouteDispatch, RouteListRuns, RouteGetRun, RouteListJobs, RouteCancelRun}
}

// String describes the options without credentials.
func (o Options) String() string {
	return fmt.Sprintf("github.Options{base: %s, auth: %s}", remote.DescribeURL(o.BaseURL), authKind(o))
}

// GoString is String, so that %#v cannot reach a key either.
func (o Options) GoString() string { return o.String() }

func authKind(o Options) string {
	if o.App != nil {
		return o.App.String()
	}
	if o.Token.IsZero() {
		return "none"
	}
	return "token " + secret.Redacted
}

// Client calls GitHub's Actions API. It is safe for concurrent use.
type Client struct {
	base      *url.URL
	http      *http.Client
	cache     *conditional
	token     *secret.Secret // for scrubbing error texts; nil for an App
	auth      string         // what to check when GitHub refuses the credentials
	timeout   time.Duration
	policy    retry.Policy
	log       zerolog.Logger
	clock     func() time.Time
	userAgent string
	within    time.Duration
	rec       remote.Recorder
}

// New checks opts and returns a client. A base URL that is not an absolute
// http(s) URL, no credentials or both kinds, or an unreadable App key is an error.
func New(opts Options) (*Client, error) {
	raw := opts.BaseURL
	if raw == "" {
		raw = DefaultBaseURL
	}
	base, err := url.Parse(raw)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" ||
		base.User != nil || base.RawQuery != "" || base.Fragment != "" {
		return nil, fmt.Errorf("github: base URL %s is not a URL like %s or https://ghe.example/api/v3/", remote.DescribeURL(raw), DefaultBaseURL)
	}
	if !strings.HasSuffix(base.Path, "/") {
		base.Path += "/"
		if base.RawPath != "" {
			base.RawPath += "/"
		}
	}
	next := http.DefaultTransport
	var httpClient http.Client
	if opts.HTTPClient != nil {
		httpClient = *opts.HTTPClient
		if httpClient.Transport != nil {
			next = httpClient.Transport
		}
	}
	c := &Client{
		base:      base,
		cache:     newConditional(next),
		timeout:   opts.Timeout,
		policy:    opts.Retry,
		log:       opts.Logger,
		clock:     opts.Clock,
		userAgent: opts.UserAgent,
		within:    opts.FindRunWithin,
		rec:       remote.Recorder{Observe: opts.Observe, Message: "github request"},
	}
	switch {
	case opts.App != nil && !opts.Token.IsZero():
		return nil, errors.New("github: both a token and a GitHub App are given: use one")
	case opts.App != nil:
		tr, err := appTransport(c.cache, *opts.App, strings.TrimRight(base.String(), "/"))
		if err != nil {
			return nil, err
		}
		httpClient.Transport = tr
		c.auth = "the GitHub App's id, installation id and private key (GITHUB_APP_*)"
	case !opts.Token.IsZero():
		token := opts.Token
		c.token = &token
		httpClient.Transport = &tokenTransport{token: c.token, next: c.cache}
		c.auth = "GITHUB_TOKEN"
	default:
		return nil, errors.New("github: no credentials: set GITHUB_TOKEN, or a GitHub App's id, installation id and private key")
	}
	c.http = &httpClient
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.policy.Attempts == 0 {
		c.policy = DefaultRetry()
	}
	if c.clock == nil {
		c.clock = time.Now
	}
	if c.userAgent == "" {
		c.userAgent = defaultUserAgent
	}
	if c.within <= 0 {
		c.within = DefaultFindRunWithin
	}
	return c, nil
}

// appTransport authenticates as an App installation: ghinstallation trades a
// JWT signed with the App's key for an installation token at
// POST {base}/app/installations/{id}/access_tokens and renews it before it expires.
// https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app
func appTransport(next http.RoundTripper, app App, base string) (*ghinstallation.Transport, error) {
	if app.AppID <= 0 || app.InstallationID <= 0 {
		return nil, errors.New("github: a GitHub App needs its app id and installation id (GITHUB_APP_ID, GITHUB_APP_INSTALLATION_ID)")
	}
	var (
		tr  *ghinstallation.Transport
		err error
	)
	switch {
	case len(app.PrivateKeyPEM) > 0:
		tr, err = ghinstallation.New(next, app.AppID, app.InstallationID, app.PrivateKeyPEM)
	case app.PrivateKeyFile != "":
		tr, err = ghinstallation.NewKeyFromFile(next, app.AppID, app.InstallationID, app.PrivateKeyFile)
	default:
		return nil, errors.New("github: a GitHub App needs its private key (GITHUB_APP_PRIVATE_KEY_FILE)")
	}
	if err != nil {
		return nil, fmt.Errorf("github: GitHub App %d: %w", app.AppID, err)
	}
	tr.BaseURL = base // GHES: the token endpoint lives under the same /api/v3
	return tr, nil
}

// tokenTransport sends the token: the one place it is revealed.
type tokenTransport struct {
	token *secret.Secret
	next  http.RoundTripper
}

func (t *tokenTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+t.token.Reveal())
	return t.next.RoundTrip(req)
}

// api returns a go-github client for one attempt. go-github remembers a rate
// limit it was told of and refuses further requests until the wall clock
// passes it; that would be a second retry policy, blind to Options.Clock and
// Retry. A fresh client per attempt leaves every wait to retryable.
func (c *Client) api() *gh.Client {
	api := gh.NewClient(c.http)
	api.BaseURL = c.base
	api.UserAgent = c.userAgent
	return api
}

// String describes the client without its credentials.
func (c Client) String() string {
	return fmt.Sprintf("github.Client{base: %s}", c.base.Redacted())
}

// GoString is String, so that %#v cannot reach the credentials either.
func (c Client) GoString() string { return c.String() }

// Stats says how many requests the client sent: Requests count against
// GitHub's primary rate limit; NotModified were answered 304 from the
// client's ETag cache and do not.
// https://docs.github.com/rest/using-the-rest-api/best-practices-for-using-the-rest-api#use-conditional-requests-if-appropriate
type Stats struct {
	Requests    int
	NotModified int
}

// Stats returns the request counts so far.
func (c *Client) Stats() Stats { return c.cache.stats() }

func (c *Client) now() time.Time { return c.clock() }
