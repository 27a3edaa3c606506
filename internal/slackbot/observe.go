package slackbot

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Methods lists the Web API methods release-bot calls, as Observe names
// them (https://api.slack.com/methods), for metrics at zero; Observe also
// names "other" and "response_url".
func Methods() []string {
	return []string{
		"auth.test", "apps.connections.open", "chat.postMessage", "chat.update", "chat.postEphemeral",
		"conversations.replies", "conversations.open", "chat.getPermalink", "users.info", "usergroups.list", "views.open", "views.publish", "other", "response_url",
	}
}

// observedTransport reports every request to Slack by its method; a
// response_url is a credential, so it is named "response_url", never
// quoted.
type observedTransport struct {
	next    http.RoundTripper
	api     *url.URL
	observe func(method string, status int, d time.Duration)
}

// observed is hc with every request it sends reported to observe.
func observed(hc *http.Client, apiURL string, observe func(string, int, time.Duration)) *http.Client {
	api, err := url.Parse(apiURL)
	if err != nil {
		api = &url.URL{} // every request is then a response_url; slack-go fails on such a URL anyway
	}
	c := *hc
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c.Transport = &observedTransport{next: next, api: api, observe: observe}
	return &c
}

// RoundTrip sends req and reports it; the time is to the answer's headers.
func (t *observedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	status := 0
	if err == nil {
		status = resp.StatusCode
	}
	t.observe(t.method(req.URL), status, time.Since(start))
	return resp, err
}

// method is the Web API method a URL calls: what follows the API base.
func (t *observedTransport) method(u *url.URL) string {
	rest, ok := strings.CutPrefix(u.Path, t.api.Path)
	if !ok || u.Host != t.api.Host || t.api.Host == "" {
		return "response_url"
	}
	if slices.Contains(Methods(), rest) && rest != "response_url" {
		return rest
	}
	return "other"
}
