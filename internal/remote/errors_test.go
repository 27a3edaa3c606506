package remote

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func TestAPIErrorText(t *testing.T) {
	for _, c := range []struct {
		e    APIError
		want string
	}{
		{APIError{Service: "Kosli", Status: 500, Endpoint: "GET /api/v2/x"}, "Kosli answered 500 to GET /api/v2/x: an empty body"},
		{APIError{Service: "GitHub", Status: 404, Endpoint: "GET /repos/a/b", Message: "Not Found", Summary: "no such repository"},
			"no such repository (GitHub answered 404 to GET /repos/a/b: Not Found)"},
	} {
		if got := c.e.Error(); got != c.want {
			t.Errorf("Error() = %q, want %q", got, c.want)
		}
	}
}

func TestUnreachable(t *testing.T) {
	live := context.Background()
	refused := &url.Error{Op: "Post", URL: "https://u:token@h/x?t=token", Err: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}}
	scrub := func(s string) string { return strings.ReplaceAll(s, "token", "<redacted>") }

	un := Unreachable(live, "Kosli", "https://h", "POST /api/v2/x", time.Second, refused, scrub)
	if !un.NotSent || un.Timeout != 0 || !errors.Is(&un, syscall.ECONNREFUSED) {
		t.Errorf("a refused dial: %+v", un)
	}
	if got, want := un.Error(), "Kosli at https://h could not be reached (POST /api/v2/x): dial: connection refused"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}

	expired, cancel := context.WithDeadline(live, time.Unix(0, 0))
	defer cancel()
	reset := &url.Error{Op: "Get", URL: "https://h/x", Err: &net.OpError{Op: "read", Err: syscall.ECONNRESET}}
	un = Unreachable(expired, "GitHub", "", "GET /x", 20*time.Second, reset, scrub)
	if un.NotSent || un.Timeout != 20*time.Second {
		t.Errorf("an attempt past its deadline: %+v", un)
	}
	if got, want := un.Error(), "GitHub did not answer GET /x within 20s"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}

	un = Unreachable(live, "GitHub", "", "GET /x", time.Second, errors.New("token leaked"), scrub)
	if strings.Contains(un.Error(), "token") {
		t.Errorf("the cause is not scrubbed: %q", un.Error())
	}
}

func TestAbandoned(t *testing.T) {
	if err := Abandoned(context.Background(), "kosli", "GET /x"); err != nil {
		t.Errorf("a live context: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Abandoned(ctx, "kosli", "GET /x")
	if !errors.Is(err, context.Canceled) || err.Error() != "kosli: GET /x abandoned: context canceled" {
		t.Errorf("a cancelled context: %v", err)
	}
}

func TestDescribeURLDropsCredentials(t *testing.T) {
	got := DescribeURL("https://user:pa55@kosli.example/base?token=s3cret#frag")
	if strings.Contains(got, "pa55") || strings.Contains(got, "s3cret") || !strings.Contains(got, "kosli.example/base") {
		t.Errorf("DescribeURL = %q", got)
	}
	if got := DescribeURL("http://[::1"); got != "(unparseable)" {
		t.Errorf("DescribeURL(unparseable) = %q", got)
	}
}

func TestRecorderObservesAndLogsOneLine(t *testing.T) {
	var buf bytes.Buffer
	log := zerolog.New(&buf)
	var routes []string
	r := Recorder{Observe: func(route string, status int, d time.Duration) {
		routes = append(routes, route)
		if status != 503 || d != 2*time.Millisecond {
			t.Errorf("observed %d %s", status, d)
		}
	}, Message: "kosli request"}
	r.Record(log.Debug(), "GET /env/{org}", "GET /api/v2/env/acme", 2, 503, 2*time.Millisecond, errors.New("boom"))
	if len(routes) != 1 || routes[0] != "GET /env/{org}" {
		t.Errorf("observed routes %v", routes)
	}
	line := buf.String()
	for _, want := range []string{`"endpoint":"GET /api/v2/env/acme"`, `"attempt":2`, `"status":503`, `"error":"boom"`, `"message":"kosli request"`} {
		if !strings.Contains(line, want) {
			t.Errorf("log line %s lacks %s", line, want)
		}
	}
	if strings.Count(line, "\n") != 1 {
		t.Errorf("want one line, got %q", line)
	}
	Recorder{Message: "x"}.Record(log.Debug(), "r", "e", 1, 0, 0, nil) // no Observe: no panic
}
