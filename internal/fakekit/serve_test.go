package fakekit_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/fakekit"
)

// fake is the smallest fake on the kit: every request is to route a, and
// the normal answer is a 201 "normal" that counts how often it ran.
type fake struct {
	kit     *fakekit.Kit[route, request]
	handled atomic.Int32
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	handle := func(w http.ResponseWriter) {
		f.handled.Add(1)
		w.Header().Set("X-Normal", "yes")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, "normal")
	}
	if _, resp, ok := f.kit.Receive(routeA, request{route: routeA}); ok && f.kit.Serve(w, r, resp, handle) {
		return
	}
	handle(w)
}

// serve starts a fake answering as a, and returns its base URL.
func serve(t *testing.T, a fakekit.Answer) (*fake, string) {
	t.Helper()
	f := &fake{kit: newKit(a)}
	url := f.kit.Listen(f, "/prefix")
	t.Cleanup(f.kit.Close)
	return f, url
}

type answer struct {
	status      int
	contentType string
	body        string
	header      http.Header
}

func get(t *testing.T, url string, timeout time.Duration) (answer, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header.Get("Content-Type"), string(b), resp.Header}, err
}

func TestFailNextAnswersAJSONMessage(t *testing.T) {
	f, url := serve(t, fakekit.Answer{JSONType: "application/json"})
	f.kit.FailNext(routeA, 1, 502)
	a, err := get(t, url, 5*time.Second)
	if err != nil || a.status != 502 || a.contentType != "application/json" ||
		a.body != `{"message": "scripted failure: Bad Gateway"}` {
		t.Errorf("got %+v, %v", a, err)
	}
}

func TestServeAnswersAsScripted(t *testing.T) {
	const kosliJSON, githubJSON = "application/json", "application/json; charset=utf-8"
	for name, c := range map[string]struct {
		answer  fakekit.Answer
		resp    fakekit.Response
		want    answer
		handled int
	}{
		"a status and a JSON body": {fakekit.Answer{JSONType: githubJSON}, fakekit.Response{Status: 429, Body: ` {"message": "x"}`},
			answer{status: 429, contentType: githubJSON, body: ` {"message": "x"}`}, 0},
		"a JSON array": {fakekit.Answer{JSONType: kosliJSON}, fakekit.Response{Status: 400, Body: `[1]`},
			answer{status: 400, contentType: kosliJSON, body: `[1]`}, 0},
		"a JSON string": {fakekit.Answer{JSONType: kosliJSON}, fakekit.Response{Status: 400, Body: `"Denied"`},
			answer{status: 400, contentType: kosliJSON, body: `"Denied"`}, 0},
		"an HTML page": {fakekit.Answer{JSONType: kosliJSON}, fakekit.Response{Status: 200, Body: "<html></html>"},
			answer{status: 200, contentType: "text/html; charset=utf-8", body: "<html></html>"}, 0},
		"plain text": {fakekit.Answer{JSONType: kosliJSON}, fakekit.Response{Status: 502, Body: "upstream"},
			answer{status: 502, contentType: "text/plain; charset=utf-8", body: "upstream"}, 0},
		"headers win over sniffing": {fakekit.Answer{}, fakekit.Response{Status: 503, Body: "{}",
			Headers: map[string]string{"Content-Type": "text/x-custom", "Retry-After": "7"}},
			answer{status: 503, contentType: "text/x-custom", body: "{}"}, 0},
		"no status, a default": {fakekit.Answer{Status: 200}, fakekit.Response{Body: "OK"},
			answer{status: 200, contentType: "text/plain; charset=utf-8", body: "OK"}, 0},
		"no status, no default: through": {fakekit.Answer{}, fakekit.Response{Body: "ignored", Delay: time.Millisecond},
			answer{status: 201, body: "normal"}, 1},
		"pass-through despite a default": {fakekit.Answer{Status: 200}, fakekit.Response{PassThrough: true, Status: 500},
			answer{status: 201, body: "normal"}, 1},
		"processed, then the scripted status": {fakekit.Answer{JSONType: githubJSON}, fakekit.Response{Status: 502, Body: "{}", Process: true},
			answer{status: 502, contentType: githubJSON, body: "{}"}, 1},
		"processed, no status: the normal answer": {fakekit.Answer{Status: 200}, fakekit.Response{Process: true},
			answer{status: 201, body: "normal"}, 1},
	} {
		t.Run(name, func(t *testing.T) {
			f, url := serve(t, c.answer)
			f.kit.Script(routeA, c.resp)
			got, err := get(t, url, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if got.status != c.want.status || got.body != c.want.body || (c.want.contentType != "" && got.contentType != c.want.contentType) {
				t.Errorf("got %d %q %q, want %d %q %q", got.status, got.contentType, got.body, c.want.status, c.want.contentType, c.want.body)
			}
			for k, v := range c.resp.Headers {
				if got.header.Get(k) != v {
					t.Errorf("header %s = %q, want %q", k, got.header.Get(k), v)
				}
			}
			if c.want.status == 201 && got.header.Get("X-Normal") != "yes" {
				t.Error("the normal answer's headers were lost")
			}
			if int(f.handled.Load()) != c.handled {
				t.Errorf("handled %d times, want %d", f.handled.Load(), c.handled)
			}
		})
	}
}

func TestHangDelayAndDisconnectGiveNoAnswer(t *testing.T) {
	for name, resp := range map[string]fakekit.Response{
		"hang":           {Hang: true},
		"a long delay":   {Status: 200, Delay: time.Hour},
		"processed hang": {Hang: true, Process: true},
		"disconnect":     {Disconnect: true, Status: 200},
	} {
		t.Run(name, func(t *testing.T) {
			f, url := serve(t, fakekit.Answer{Status: 200})
			f.kit.Script(routeA, resp)
			_, err := get(t, url, 100*time.Millisecond)
			if err == nil {
				t.Fatal("an answer came")
			}
			if resp.Disconnect == errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error %v", err)
			}
			f.kit.Close() // waits for the handler to return
			if want := map[bool]int32{true: 1}[resp.Process]; f.handled.Load() != want {
				t.Errorf("handled %d times, want %d", f.handled.Load(), want)
			}
		})
	}
}

func TestCloseReleasesAHangingRequest(t *testing.T) {
	f, url := serve(t, fakekit.Answer{})
	f.kit.Script(routeA, fakekit.Response{Hang: true})
	done := make(chan error, 1)
	go func() {
		_, err := get(t, url, time.Minute)
		done <- err
	}()
	for f.kit.Pending(routeA) != 0 {
		time.Sleep(time.Millisecond)
	}
	f.kit.Close()
	f.kit.Close() // idempotent
	if err := <-done; err != nil {
		t.Errorf("after Close: %v", err) // the handler returns and the server sends its empty 200
	}
}
