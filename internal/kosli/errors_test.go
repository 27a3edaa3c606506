package kosli_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/kosli"
	"github.com/release-bot/release-bot/internal/kosli/kositest"
	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/secret"
	"github.com/release-bot/release-bot/internal/secret/secrettest"
)

func fail(status int, body string) kositest.Response {
	return kositest.Response{Status: status, Body: body}
}

func times(n int, r kositest.Response) []kositest.Response {
	rs := make([]kositest.Response, n)
	for i := range rs {
		rs[i] = r
	}
	return rs
}

const envsEndpoint = "GET /api/v2/environments/cyber-dojo"

// What a read does with each kind of failure: how often it is sent, how long
// the retry loop waits, and what the error says.
func TestReadFailures(t *testing.T) {
	s := time.Second
	html := `<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>502</h1></body></html>`
	for _, c := range []struct {
		name      string
		opts      func(*kosli.Options)
		script    []kositest.Response
		call      func(h *harness) error
		requests  int
		waits     []time.Duration
		is        error
		wantError string // exact; "{host}" stands for the fake's base URL; empty means success
	}{
		{name: "429 with Retry-After, then success",
			script:   []kositest.Response{{Status: 429, Headers: map[string]string{"Retry-After": "7"}, Body: `{"message": "slow down"}`}},
			requests: 2, waits: []time.Duration{7 * s}},
		{name: "503 three times, then success",
			script:   times(3, fail(503, `{"message": "maintenance"}`)),
			requests: 4, waits: []time.Duration{1 * s, 2 * s, 4 * s}},
		{name: "409 is retried like the CLI does",
			script:   []kositest.Response{fail(409, `{"message": "conflict"}`)},
			requests: 2, waits: []time.Duration{1 * s}},
		{name: "500 until the attempts run out",
			script:   times(9, fail(500, `{"message": "boom"}`)),
			requests: 4, waits: []time.Duration{1 * s, 2 * s, 4 * s}, is: kosli.ErrUnavailable,
			wantError: "Kosli answered 500 to " + envsEndpoint + ": boom"},
		{name: "501 is not retried",
			script:   []kositest.Response{fail(501, `{"message": "not here"}`)},
			requests: 1, is: kosli.ErrUnavailable,
			wantError: "Kosli answered 501 to " + envsEndpoint + ": not here"},
		{name: "401 is not retried and names the variable",
			opts:     func(o *kosli.Options) { o.Token = secret.New("not-the-token-at-all") },
			requests: 1, is: kosli.ErrUnauthorized,
			wantError: "Kosli rejected the API token: check KOSLI_API_TOKEN (Kosli answered 401 to " + envsEndpoint + ": Invalid or missing API token)"},
		{name: "403 names the org",
			opts:     func(o *kosli.Options) { o.Org = "someone-else" },
			requests: 1, is: kosli.ErrForbidden,
			wantError: `the Kosli API token lacks access to org "someone-else" (Kosli answered 403 to GET /api/v2/environments/someone-else: You do not have access to organization 'someone-else')`},
		{name: "404 on an environment names it",
			call:     func(h *harness) error { _, err := h.c.Environment(ctx(t), "aws-beta"); return err },
			requests: 1, is: kosli.ErrNotFound,
			wantError: `Kosli has no environment "aws-beta" in org "cyber-dojo" (Kosli answered 404 to GET /api/v2/environments/cyber-dojo/aws-beta: Environment named 'aws-beta' does not exist for organization 'cyber-dojo')`},
		{name: "404 on a snapshot names the environment",
			call:     func(h *harness) error { _, err := h.c.Running(ctx(t), "aws-prod"); return err },
			requests: 1, is: kosli.ErrNotFound,
			wantError: `Kosli has no environment "aws-prod" in org "cyber-dojo" (Kosli answered 404 to GET /api/v2/snapshots/cyber-dojo/aws-prod/-1: Environment named 'aws-prod' does not exist for organization 'cyber-dojo')`},
		{name: "404 on a diff names the missing environment",
			call: func(h *harness) error {
				h.srv.SetEnvironment("aws-beta", nil)
				_, err := h.c.Diff(ctx(t), "aws-beta", "aws-prod")
				return err
			},
			requests: 1, is: kosli.ErrNotFound,
			wantError: `Kosli has no environment "aws-prod" in org "cyber-dojo" (Kosli answered 404 to GET /api/v2/env-diff/cyber-dojo: Environment named 'aws-prod' does not exist for organization 'cyber-dojo')`},
		{name: "an HTML error page gives its title",
			script:   times(4, fail(502, html)),
			requests: 4, waits: []time.Duration{1 * s, 2 * s, 4 * s}, is: kosli.ErrUnavailable,
			wantError: `Kosli answered 502 to ` + envsEndpoint + `: an HTML error page "502 Bad Gateway"`},
		{name: "an HTML page without a title",
			script:   []kositest.Response{fail(400, "<html><body>no</body></html>")},
			requests: 1, wantError: "Kosli answered 400 to " + envsEndpoint + ": an HTML error page"},
		{name: "a bare JSON string",
			script:   []kositest.Response{fail(400, `"Denied"`)},
			requests: 1, wantError: "Kosli answered 400 to " + envsEndpoint + ": Denied"},
		{name: "validation errors are summarised",
			script:   []kositest.Response{fail(400, `{"message": "Input payload validation failed", "errors": {"name": "'a b' does not match", "type": ["bad"]}}`)},
			requests: 1, wantError: `Kosli answered 400 to ` + envsEndpoint + `: Input payload validation failed (name: 'a b' does not match; type: ["bad"])`},
		{name: "Flask's 404 hint is dropped",
			script:   []kositest.Response{fail(404, `{"message": "Not found. You have requested this URI [/x] but did you mean /y ?"}`)},
			requests: 1, is: kosli.ErrNotFound, wantError: "Kosli answered 404 to " + envsEndpoint + ": Not found."},
		{name: "plain text",
			script:   []kositest.Response{fail(400, "upstream connect error\nor disconnect")},
			requests: 1, wantError: "Kosli answered 400 to " + envsEndpoint + ": upstream connect error or disconnect"},
		{name: "an empty body",
			script:   []kositest.Response{fail(400, "")},
			requests: 1, wantError: "Kosli answered 400 to " + envsEndpoint + ": an empty body"},
		{name: "a token echoed by the server is scrubbed",
			script:   []kositest.Response{fail(400, `{"message": "bad header: Bearer `+token+`"}`)},
			requests: 1, wantError: "Kosli answered 400 to " + envsEndpoint + ": bad header: Bearer <redacted>"},
		{name: "a 200 that is an HTML page",
			script:   []kositest.Response{fail(200, "<html><title>Sign in</title></html>")},
			requests: 1, wantError: "Kosli answered " + envsEndpoint + " with something that is not a list of environments: what looks like HTML"},
		{name: "a 200 that is the wrong JSON",
			script:   []kositest.Response{fail(200, `{"environments": []}`)},
			requests: 1, wantError: "Kosli answered " + envsEndpoint + ` with something that is not a list of environments: a JSON object`},
		{name: "a 200 that is not JSON at all",
			script:   []kositest.Response{fail(200, "OK")},
			requests: 1, wantError: "Kosli answered " + envsEndpoint + ` with something that is not a list of environments: "OK"`},
		{name: "a 200 assertion without a verdict",
			script:   []kositest.Response{fail(200, `{"fingerprint": "abc"}`)},
			call:     func(h *harness) error { _, err := h.c.Assert(ctx(t), "abc", kosli.AssertQuery{}); return err },
			requests: 1, wantError: `Kosli answered GET /api/v2/asserts/cyber-dojo/fingerprint/abc with something that is not an assertion: it has no "compliant" verdict`},
		{name: "a 200 diff with keys missing",
			script:   []kositest.Response{fail(200, `{"snappish1": {"snapshot_id": "a#1", "artifacts": []}}`)},
			call:     func(h *harness) error { _, err := h.c.EnvDiff(ctx(t), "a", "b"); return err },
			requests: 1, is: release.ErrMalformedDiff,
			wantError: `Kosli answered GET /api/v2/env-diff/cyber-dojo with something that is not an environment diff: malformed environment diff: missing key "snappish2", "changed", "not-changed"`},
		{name: "a hang past the per-attempt timeout",
			opts:     func(o *kosli.Options) { o.Timeout = 50 * time.Millisecond },
			script:   times(4, kositest.Hang()),
			requests: 4, waits: []time.Duration{1 * s, 2 * s, 4 * s},
			wantError: "Kosli at {host} did not answer " + envsEndpoint + " within 50ms"},
		{name: "one hang, then success",
			opts:     func(o *kosli.Options) { o.Timeout = 50 * time.Millisecond },
			script:   []kositest.Response{kositest.Hang()},
			requests: 2, waits: []time.Duration{1 * s}},
		{name: "a dropped connection, then success",
			script:   []kositest.Response{{Disconnect: true}},
			requests: 2, waits: []time.Duration{1 * s}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var h *harness
			if c.opts != nil {
				h = setup(t, c.opts)
			} else {
				h = setup(t)
			}
			h.srv.Script(kositest.AnyRoute, c.script...)
			call := c.call
			if call == nil {
				call = func(h *harness) error { _, err := h.c.Environments(ctx(t)); return err }
			}
			err := call(h)

			if want := strings.ReplaceAll(c.wantError, "{host}", h.srv.URL()); want == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
			} else if err == nil || err.Error() != want {
				t.Fatalf("error:\n got %v\nwant %s", err, want)
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("errors.Is(err, %v) = false", c.is)
			}
			if n := len(h.srv.Requests()); n != c.requests {
				t.Errorf("%d requests, want %d", n, c.requests)
			}
			if got := h.Waits(); !reflect.DeepEqual(got, c.waits) && (len(got) > 0 || len(c.waits) > 0) {
				t.Errorf("waits = %v, want %v", got, c.waits)
			}
			secrettest.AssertErrAbsent(t, err, token)
		})
	}
}

func TestErrorTypes(t *testing.T) {
	h := setup(t, func(o *kosli.Options) { o.Timeout = 50 * time.Millisecond })
	h.srv.Script(kositest.AnyRoute, times(4, kositest.Hang())...)
	_, err := h.c.Environments(ctx(t))
	var un *kosli.UnreachableError
	if !errors.As(err, &un) || un.Timeout != 50*time.Millisecond || un.Host != h.srv.URL() {
		t.Errorf("err = %#v", err)
	}

	h.srv.Script(kositest.AnyRoute, kositest.Response{Status: 429, Headers: map[string]string{"Retry-After": "3"}, Body: "{}"})
	h.srv.Script(kositest.AnyRoute, times(3, fail(400, `{"message": "no"}`))...)
	_, _ = h.c.Environments(ctx(t)) // the 429, then a 400 that stops the loop
	_, err = h.c.Environments(ctx(t))
	var api *kosli.APIError
	if !errors.As(err, &api) || api.Status != 400 || api.Endpoint != envsEndpoint || api.Message != "no" {
		t.Errorf("err = %#v", err)
	}
}

func TestObserveSeesEveryAttempt(t *testing.T) {
	h := setup(t)
	// The drop comes first: on a reused connection Go's transport would resend the GET itself.
	h.srv.Script(kositest.AnyRoute, kositest.Response{Disconnect: true}, fail(503, "{}"))
	if _, err := h.c.Environments(ctx(t)); err != nil {
		t.Fatal(err)
	}
	want := []observation{{"GET /environments/{org}", 0}, {"GET /environments/{org}", 503}, {"GET /environments/{org}", 200}}
	if got := h.Observed(); !reflect.DeepEqual(got, want) {
		t.Errorf("observed %v, want %v", got, want)
	}
}

func TestTheTokenStaysOutOfLogs(t *testing.T) {
	h := setup(t)
	h.srv.Script(kositest.AnyRoute, kositest.Response{Disconnect: true}, fail(500, `{"message": "echo `+token+`"}`))
	if _, err := h.c.Environments(ctx(t)); err != nil {
		t.Fatal(err)
	}
	logs := h.log.String()
	if strings.Count(logs, `"kosli request"`) != 3 {
		t.Errorf("want one log line per attempt, got:\n%s", logs)
	}
	secrettest.AssertAbsent(t, []string{token}, logs)
}
