package rollout

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/github"
	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/remote"
)

func TestNewNeverSleepsPastTheLease(t *testing.T) {
	r := New(Options{Poll: 15 * time.Second, MaxPoll: time.Minute, LeaseTTL: 4 * time.Second, VerifyPoll: time.Minute})
	if r.o.MaxPoll != 2*time.Second || r.o.Poll != 2*time.Second || r.o.VerifyPoll != 2*time.Second {
		t.Errorf("poll %v, max %v, verify %v with a 4s lease", r.o.Poll, r.o.MaxPoll, r.o.VerifyPoll)
	}
	d := New(Options{})
	if d.o.Poll != 15*time.Second || d.o.MaxPoll != 22500*time.Millisecond || d.o.LeaseTTL != 45*time.Second {
		t.Errorf("defaults: poll %v, max %v, lease %v", d.o.Poll, d.o.MaxPoll, d.o.LeaseTTL)
	}
}

func TestLegLine(t *testing.T) {
	start := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	a := release.ManifestArtifact{Service: "saver", Commit: release.ManifestCommit{SHA: "6e191a0a86cf3d264955c4910bc3b9df518c4bcd"},
		Replaces: &release.ReplacedArtifact{CommitSHA: "434b2f8aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}}
	job := github.Job{Conclusion: "success", StartedAt: start, CompletedAt: start.Add(125 * time.Second), HTMLURL: "https://gh/job/1"}
	if got, want := legLine(a, job), ":white_check_mark: *saver* `434b2f8` → `6e191a0`: deployed in 2m · <https://gh/job/1|job>"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	job.Conclusion = "failure"
	a.Replaces = nil
	if got := legLine(a, job); !strings.HasPrefix(got, ":x: *saver* :new: new → `6e191a0`: failed (failure)") {
		t.Errorf("failed new service: %s", got)
	}
}

// A service name from Kosli is escaped in its leg's reply.
func TestLegLineEscapesTheServiceName(t *testing.T) {
	a := release.ManifestArtifact{Service: "<!channel>", Commit: release.ManifestCommit{SHA: "6e191a0a86cf3d264955c4910bc3b9df518c4bcd"}}
	got := legLine(a, github.Job{Conclusion: "failure", HTMLURL: "https://gh/job/1"})
	if strings.Contains(got, "<!channel>") || !strings.Contains(got, "*&lt;!channel&gt;*") {
		t.Errorf("legLine = %s", got)
	}
}

func TestDispatchProblemSaysWhatToFix(t *testing.T) {
	cases := map[error]string{
		fmt.Errorf("x: %w", github.ErrUnauthorized): "credentials were rejected",
		fmt.Errorf("x: %w", github.ErrForbidden):    "lack permission",
		fmt.Errorf("x: %w", github.ErrNotFound):     "no such repository or workflow",
		&github.APIError{APIError: remote.APIError{Service: "GitHub", Status: 422, Message: "Unexpected inputs provided"}}: "HTTP 422: Unexpected inputs provided",
		errors.New("dial tcp: refused"): "could not be reached",
		// GitHub's message goes into a thread reply: escaped, so it cannot ping.
		&github.APIError{APIError: remote.APIError{Service: "GitHub", Status: 422, Message: "<!channel> bad & worse"}}: "HTTP 422: &lt;!channel&gt; bad &amp; worse",
	}
	for err, want := range cases {
		if got := dispatchProblem(err); !strings.Contains(got, want) {
			t.Errorf("dispatchProblem(%v) = %q, want %q", err, got, want)
		}
	}
}
