// Package sandboxtest drives the sandbox page in a real headless Chromium
// for tests: NewBrowser starts one, and its methods do what a person does on
// the page (pick a user, type a command, press a button, fill a dialog) and
// wait for what they would see.
//
// The browser is Debian's chromium package at /usr/bin/chromium. A test
// that needs it fails, with the command that installs it, when it is
// missing: a browser test that skips is a test nobody runs.
package sandboxtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// Chromium is where Debian's chromium package puts the browser.
const Chromium = "/usr/bin/chromium"

// InstallHint says how to get Chromium.
const InstallHint = "install Chromium: apt-get update && apt-get install -y chromium (Debian's package, at " + Chromium + ")"

// Timeout bounds each step; generous, since tests never measure time.
const Timeout = 20 * time.Second

// Browser is one headless Chromium tab.
type Browser struct {
	t   testing.TB
	ctx context.Context

	mu         sync.Mutex
	exceptions []string
}

// chromiumPath finds the browser: $CHROMIUM, then Chromium, then chromium on $PATH.
func chromiumPath() (string, error) {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p, nil
	}
	if _, err := os.Stat(Chromium); err == nil {
		return Chromium, nil
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p, nil
	}
	return "", errors.New("no Chromium at " + Chromium + " nor on $PATH")
}

// NewBrowser starts a headless Chromium with a fresh profile and returns its
// tab; it stops when the test ends. The test fails when Chromium is not
// installed, and fails at the end if the page threw an uncaught exception.
func NewBrowser(t testing.TB) *Browser {
	t.Helper()
	path, err := chromiumPath()
	if err != nil {
		t.Fatalf("%v: %s", err, InstallHint)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		// Without these Chromium reaches for the network at start and stalls
		// on a machine that has none.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	b := &Browser{t: t, ctx: ctx}
	// The first run starts the browser and binds it to ctx: no timeout here.
	if err := chromedp.Do(ctx); err != nil {
		cancelTab()
		cancelAlloc()
		t.Fatalf("starting Chromium (%s): %v; %s", path, err, InstallHint)
	}
	console := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range console {
			if err != nil {
				return
			}
			b.mu.Lock()
			if m.IsException() {
				b.exceptions = append(b.exceptions, m.String())
			}
			b.mu.Unlock()
			t.Logf("browser console: %s", m)
		}
	}()
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		<-done
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, e := range b.exceptions {
			t.Errorf("the page threw: %s", e)
		}
	})
	return b
}

// Context is the tab's context, for chromedp actions of a test's own; bound
// each with context.WithTimeout.
func (b *Browser) Context() context.Context { return b.ctx }

// Do runs actions in the tab within Timeout and fails the test on an error.
func (b *Browser) Do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, Timeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v\nthe page shows:\n%s", what, err, b.pageText())
	}
}

// Eval evaluates a JavaScript expression in the page and returns its value.
func Eval[T any](b *Browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, Timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// pageText is the channel's text, for failure messages.
func (b *Browser) pageText() string {
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if err != nil {
		return "(unreadable: " + err.Error() + ")"
	}
	return s
}

// js quotes s as a JavaScript string.
func js(s string) string { return strconv.Quote(s) }

// waitJS waits until the JavaScript expression is true.
func (b *Browser) waitJS(what, expr string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, Timeout)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(Timeout))); err != nil {
		b.t.Fatalf("waiting for %s: %v\nthe page shows:\n%s", what, err, b.pageText())
	}
}

// Open loads the page at url (the sandbox's /sandbox/ URL, with ?user= to
// choose whom to act as) and waits until it follows the channel.
func (b *Browser) Open(url string) {
	b.t.Helper()
	b.Do("opening "+url, chromedp.Navigate(url))
	b.waitJS("the page to follow the channel", `document.body.dataset.live === "true"`)
}

// ActAs switches the page to the user and waits for the channel as they see it.
func (b *Browser) ActAs(userID string) {
	b.t.Helper()
	b.Do("choosing user "+userID, chromedp.SetValue(chromedp.CSS("#user"), userID),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("user").dispatchEvent(new Event("change"))`))
	b.waitJS("the channel as "+userID, fmt.Sprintf(`document.body.dataset.user === %s && document.body.dataset.live === "true"`, js(userID)))
}

// Command types a command in the box, sends it with Enter and waits until
// the page accepted it; it fails the test when the page refuses it.
func (b *Browser) Command(text string) {
	b.t.Helper()
	b.Do("typing "+text, chromedp.Evaluate[chromedp.Void](`document.getElementById("status").textContent = ""`),
		chromedp.SendKeys(chromedp.CSS("#command-input"), text+kb.Enter))
	b.waitJS("the command to be sent", `document.getElementById("command-input").value === "" || document.getElementById("status").dataset.kind === "error"`)
	if Eval[string](b, `document.getElementById("status").dataset.kind || ""`) == "error" {
		b.t.Fatalf("the page refused %q: %s", text, b.Status())
	}
}

// Status is the line under the command box: what the last action did, or why it failed.
func (b *Browser) Status() string {
	b.t.Helper()
	return Eval[string](b, `document.getElementById("status").textContent`)
}

// WaitText waits until the channel shows text.
func (b *Browser) WaitText(text string) {
	b.t.Helper()
	b.waitJS(fmt.Sprintf("%q in the channel", text), fmt.Sprintf(`document.getElementById("channel").innerText.includes(%s)`, js(text)))
}

// HasText reports whether the channel shows text now.
func (b *Browser) HasText(text string) bool {
	b.t.Helper()
	return Eval[bool](b, fmt.Sprintf(`document.getElementById("channel").innerText.includes(%s)`, js(text)))
}

// markButton is a JavaScript expression that finds the button labelled
// label on the latest message whose text contains inMessage and marks it
// for a real mouse click; it is false while there is none.
func markButton(inMessage, label string) string {
	return fmt.Sprintf(`(() => {
		document.querySelectorAll("[data-sbt-target]").forEach(e => e.removeAttribute("data-sbt-target"));
		const msgs = [...document.querySelectorAll("#channel .msg")].filter(m => m.innerText.includes(%s)).reverse();
		for (const m of msgs) {
			const btn = [...m.querySelectorAll("button[data-action-id]")].find(x => x.textContent.trim() === %s);
			if (btn) { btn.setAttribute("data-sbt-target", "1"); btn.scrollIntoView({block: "center"}); return true; }
		}
		return false;
	})()`, js(inMessage), js(label))
}

// Click presses the button labelled label on the latest message containing
// inMessage, waiting for it to appear. A confirm dialog, if the button has
// one, is left open: see Confirm.
//
// A message the bot edits is drawn again, and the button marked a moment
// before may be gone when the click comes: it is then found and marked
// again, a few times, rather than waited for until the test's timeout.
func (b *Browser) Click(inMessage, label string) {
	b.t.Helper()
	what := fmt.Sprintf("a button %q on a message with %q", label, inMessage)
	for attempt := 1; ; attempt++ {
		b.waitJS(what, markButton(inMessage, label))
		ctx, cancel := context.WithTimeout(b.ctx, 3*time.Second)
		err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-sbt-target="1"]`)))
		cancel()
		if err == nil {
			return
		}
		if attempt == 5 || b.ctx.Err() != nil {
			b.t.Fatalf("clicking %q: %v\nthe page shows:\n%s", label, err, b.pageText())
		}
	}
}

// Press clicks like Click and answers yes to the button's confirm dialog when
// it has one, then waits for the page to say the click was sent.
func (b *Browser) Press(inMessage, label string) {
	b.t.Helper()
	b.Do("clearing the status", chromedp.Evaluate[chromedp.Void](`document.getElementById("status").textContent = ""`))
	b.Click(inMessage, label)
	// The page takes the click in its own time (the browser may answer the
	// click before it has run the handler): wait for its dialog or its post.
	b.waitJS("the click to be taken", `document.getElementById("confirm").open || document.getElementById("status").textContent !== ""`)
	if Eval[bool](b, `document.getElementById("confirm").open`) {
		b.Confirm(true)
	}
	b.waitJS("the click to be sent", `document.getElementById("status").textContent !== ""`)
	if Eval[string](b, `document.getElementById("status").dataset.kind || ""`) == "error" {
		b.t.Fatalf("clicking %q failed: %s", label, b.Status())
	}
}

// ConfirmText is the text of the open confirm dialog, title first.
func (b *Browser) ConfirmText() string {
	b.t.Helper()
	b.waitJS("the confirm dialog", `document.getElementById("confirm").open`)
	return Eval[string](b, `document.getElementById("confirm").innerText`)
}

// Confirm answers the open confirm dialog.
func (b *Browser) Confirm(yes bool) {
	b.t.Helper()
	button := "#confirm-no"
	if yes {
		button = "#confirm-yes"
	}
	b.waitJS("the confirm dialog", `document.getElementById("confirm").open`)
	b.Do("answering the confirm dialog", chromedp.Click(chromedp.CSS(button)))
	b.waitJS("the confirm dialog to close", `!document.getElementById("confirm").open`)
}

// DialogText waits for a dialog the bot opened and returns its text.
func (b *Browser) DialogText() string {
	b.t.Helper()
	b.waitJS("a dialog", `document.getElementById("modal").open`)
	return Eval[string](b, `document.getElementById("modal").innerText`)
}

// SubmitDialog types text into the dialog's inputs, in order, and submits
// it; it fails the test when the page refuses the submission.
func (b *Browser) SubmitDialog(inputs ...string) {
	b.t.Helper()
	b.waitJS("a dialog", `document.getElementById("modal").open`)
	for i, text := range inputs {
		b.waitJS(fmt.Sprintf("input %d of the dialog", i+1), fmt.Sprintf(`(() => {
			document.querySelectorAll("[data-sbt-target]").forEach(e => e.removeAttribute("data-sbt-target"));
			const in_ = document.querySelectorAll("#modal .b-input")[%d];
			if (in_) in_.setAttribute("data-sbt-target", "1");
			return !!in_;
		})()`, i))
		b.Do("filling the dialog", chromedp.SendKeys(chromedp.CSS(`[data-sbt-target="1"]`), text))
	}
	b.Do("submitting the dialog", chromedp.Click(chromedp.CSS("#modal-submit")))
	b.waitJS("the dialog to close", `!document.getElementById("modal").open || document.getElementById("modal-error").textContent !== ""`)
	if msg := Eval[string](b, `document.getElementById("modal").open ? document.getElementById("modal-error").textContent : ""`); msg != "" {
		b.t.Fatalf("the dialog was refused: %s", msg)
	}
}

// Screenshot saves a PNG of the whole page.
func (b *Browser) Screenshot(path string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, Timeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// OpenHome switches the page to the app's Home tab (which sends Slack's
// app_home_opened) and waits until it shows.
func (b *Browser) OpenHome() {
	b.t.Helper()
	b.Do("opening the Home tab", chromedp.Click(chromedp.CSS("#side-home")))
	b.waitJS("the Home tab", `document.body.dataset.tab === "home" && !document.getElementById("home").hidden`)
}

// OpenChannel switches the page back to the channel.
func (b *Browser) OpenChannel() {
	b.t.Helper()
	b.Do("opening the channel", chromedp.Click(chromedp.CSS("#side-channel")))
	b.waitJS("the channel", `document.body.dataset.tab === "channel" && !document.getElementById("channel").hidden`)
}

// WaitHomeText waits until the Home tab shows text.
func (b *Browser) WaitHomeText(text string) {
	b.t.Helper()
	b.waitJS(fmt.Sprintf("%q on the Home tab", text), fmt.Sprintf(`document.getElementById("home").innerText.includes(%s)`, js(text)))
}

// HomeHasText reports whether the Home tab shows text now.
func (b *Browser) HomeHasText(text string) bool {
	b.t.Helper()
	return Eval[bool](b, fmt.Sprintf(`document.getElementById("home").innerText.includes(%s)`, js(text)))
}

// PressHome clicks the button labelled label in the actions block that
// follows the Home tab's entry containing inEntry, answers yes to its
// confirm dialog, and waits for the page to say the click was sent.
func (b *Browser) PressHome(inEntry, label string) {
	b.t.Helper()
	b.Do("clearing the status", chromedp.Evaluate[chromedp.Void](`document.getElementById("status").textContent = ""`))
	mark := fmt.Sprintf(`(() => {
		document.querySelectorAll("[data-sbt-target]").forEach(e => e.removeAttribute("data-sbt-target"));
		for (const a of document.querySelectorAll("#home .b-actions")) {
			const entry = a.previousElementSibling;
			if (!entry || !entry.innerText.includes(%s)) continue;
			const btn = [...a.querySelectorAll("button[data-action-id]")].find(x => x.textContent.trim() === %s);
			if (btn) { btn.setAttribute("data-sbt-target", "1"); btn.scrollIntoView({block: "center"}); return true; }
		}
		return false;
	})()`, js(inEntry), js(label))
	what := fmt.Sprintf("a button %q under %q on the Home tab", label, inEntry)
	for attempt := 1; ; attempt++ {
		b.waitJS(what, mark)
		ctx, cancel := context.WithTimeout(b.ctx, 3*time.Second)
		err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-sbt-target="1"]`)))
		cancel()
		if err == nil {
			break
		}
		if attempt == 5 || b.ctx.Err() != nil {
			b.t.Fatalf("clicking %q: %v", label, err)
		}
	}
	b.waitJS("the click to be taken", `document.getElementById("confirm").open || document.getElementById("status").textContent !== ""`)
	if Eval[bool](b, `document.getElementById("confirm").open`) {
		b.Confirm(true)
	}
	b.waitJS("the click to be sent", `document.getElementById("status").textContent !== ""`)
	if Eval[string](b, `document.getElementById("status").dataset.kind || ""`) == "error" {
		b.t.Fatalf("clicking %q on the Home tab failed: %s", label, b.Status())
	}
}
