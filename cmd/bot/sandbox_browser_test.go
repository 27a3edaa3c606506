package main

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/sandbox/sandboxtest"
)

// urlWatcher is stdout for a sandbox under test: it hands over the page's address.
type urlWatcher struct {
	mu  sync.Mutex
	buf strings.Builder
	url chan string
}

var openLine = regexp.MustCompile(`open (http://\S+)`)

func (w *urlWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if m := openLine.FindStringSubmatch(w.buf.String()); m != nil && w.url != nil {
		w.url <- m[1]
		w.url = nil
	}
	return len(p), nil
}

// TestSandboxInABrowser: the sandbox page in a real headless Chromium, with
// the real bot behind it: a diff, a proposal, a guest's refused click, two
// approvals as other users (the first from the app's Home tab), the
// per-service replies and the final state.
func TestSandboxInABrowser(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	urls := make(chan string, 1)
	out := &urlWatcher{url: urls}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"sandbox", "--listen", "127.0.0.1:0", "--leg-time", "1s"},
			stdio{in: strings.NewReader(""), out: out, err: &secretSafeDiscard{}}, noEnv, time.Now)
	}()
	var url string
	select {
	case url = <-urls:
	case code := <-done:
		t.Fatalf("sandbox exited %d", code)
	case <-time.After(30 * time.Second):
		t.Fatal("sandbox did not start")
	}
	b := sandboxtest.NewBrowser(t)
	b.Open(url)

	b.ActAs(sandboxProposer)
	b.Command("/release diff")
	b.WaitText("Release diff · prod: aws-beta → aws-prod")
	for _, s := range []string{"nginx", "web", "custom-start-points", "languages-start-points", "shortener"} {
		b.WaitText(s)
	}
	b.Command("/release propose")
	b.WaitText("Waiting for approval (0 of 2)")
	b.WaitText("prod-requirements: missing required 'pull-request'") // the non-compliant artifact, shown under gate: warn
	b.WaitText("Evidence: Kosli trail")                              // the message is drawn again once Kosli has the evidence

	b.ActAs(sandboxGuest)
	b.Press("Waiting for approval", "Approve")
	b.WaitText("Guests cannot approve releases")

	// The first approval from alex's Home tab: the release waits for him
	// there, with the message's buttons, and his click counts as in the channel.
	b.ActAs(sandboxApprover1)
	b.OpenHome()
	b.WaitHomeText("Waiting for your decision (1)")
	b.WaitHomeText("Proposed by @pat")
	b.PressHome("prod-", "Approve")
	b.WaitHomeText("Your approval of prod-")
	b.WaitHomeText("Waiting for your decision (0)")
	b.Screenshot(t.TempDir() + "/sandbox-home.png")
	b.OpenChannel()
	b.WaitText("approved (1 of 2)")
	b.ActAs(sandboxApprover2)
	b.Press("Waiting for approval", "Approve")
	b.WaitText("The release is approved")
	b.WaitText("nginx e92d83d → fa32058: deployed")
	b.WaitText("web 5db3d66 → ed1878b: deployed")
	b.WaitText("shortener 🆕 new → 4f2a9c1: deployed")
	b.WaitText("Release succeeded")
	b.WaitText("Verified in aws-prod#")
	if b.HasText("Guests cannot approve releases") {
		t.Error("the guest's refusal is visible to another user")
	}
	b.Screenshot(t.TempDir() + "/sandbox.png")
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("sandbox exited %d", code)
		}
	case <-time.After(30 * time.Second):
		t.Error("sandbox did not stop")
	}
}

// secretSafeDiscard drops the sandbox's console log, safely from many goroutines.
type secretSafeDiscard struct{}

func (*secretSafeDiscard) Write(p []byte) (int, error) { return len(p), nil }
