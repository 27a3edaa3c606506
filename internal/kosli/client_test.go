package kosli_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/release-bot/release-bot/internal/kosli"
	"github.com/release-bot/release-bot/internal/kosli/kositest"
	"github.com/release-bot/release-bot/internal/secret"
	"github.com/release-bot/release-bot/internal/secret/secrettest"
)

func TestNewRejectsBadOptions(t *testing.T) {
	for _, c := range []struct {
		name string
		opts kosli.Options
		want string
	}{
		{"relative host", kosli.Options{Host: "app.kosli.com", Org: org}, "is not a URL"},
		{"ftp host", kosli.Options{Host: "ftp://app.kosli.com", Org: org}, "is not a URL"},
		{"unparseable host", kosli.Options{Host: "http://[::1", Org: org}, "is not a URL"},
		{"host with credentials in a query", kosli.Options{Host: "https://app.kosli.com/?token=" + token, Org: org}, "is not a URL"},
		{"no org", kosli.Options{Host: "https://app.kosli.com"}, "set KOSLI_ORG"},
		{"blank org", kosli.Options{Org: "  "}, "set KOSLI_ORG"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := kosli.New(c.opts)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to say %q", err, c.want)
			}
			secrettest.AssertErrAbsent(t, err, token)
		})
	}
}

func TestNewDefaultsTheHost(t *testing.T) {
	c, err := kosli.New(kosli.Options{Org: org, Token: secret.New(token)})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.String(); !strings.Contains(got, kosli.DefaultHost) {
		t.Errorf("String() = %q, want the default host", got)
	}
}

// The host's path prefix is kept, every path element is escaped, and the
// request carries the token and the user agent.
func TestRequestsKeepThePrefixAndEscapePaths(t *testing.T) {
	h := setup(t, func(o *kosli.Options) { o.UserAgent = "release-bot/1.2.3" })
	h.srv.SetEnvironment("aws beta", []kositest.Artifact{running(fpWeb, "web", 1)})
	h.srv.SetEnvironment("aws beta", []kositest.Artifact{running(fpWeb, "web", 2)})

	if _, err := h.c.Snapshot(ctx(t), "aws beta", "1"); err != nil {
		t.Fatal(err)
	}
	reqs := h.srv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if r.Path != "/api/v2/snapshots/cyber-dojo/aws%20beta/%231" {
		t.Errorf("path = %q", r.Path)
	}
	if !r.Authorized || r.UserAgent != "release-bot/1.2.3" || r.Method != http.MethodGet {
		t.Errorf("request = %+v", r)
	}
	if !strings.HasSuffix(h.srv.URL(), kositest.Prefix) {
		t.Fatalf("the fake is not under a prefix: %s", h.srv.URL())
	}
}

func TestTheClientNeverPrintsItsToken(t *testing.T) {
	h := setup(t)
	opts := kosli.Options{Host: h.srv.URL(), Org: org, Token: secret.New(token)}
	texts := []string{}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		texts = append(texts, fmt.Sprintf(format, h.c), fmt.Sprintf(format, opts), fmt.Sprintf(format, *h.c))
	}
	secrettest.AssertAbsent(t, []string{token}, texts...)
	if !strings.Contains(texts[0], org) {
		t.Errorf("%%v of the client says nothing useful: %s", texts[0])
	}
}
