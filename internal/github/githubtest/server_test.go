package githubtest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/github/githubtest"
)

const token = "fake-token-1d2c3b4a"

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// start is a fake with acme/shop's promote.yml on a clock the test moves with Advance.
func start(t *testing.T, edit ...func(*githubtest.Workflow)) *githubtest.Server {
	t.Helper()
	w := githubtest.Workflow{Repo: "acme/shop", File: "promote.yml"}
	for _, e := range edit {
		e(&w)
	}
	s := githubtest.Start(t, token, w)
	s.SetClock(func() time.Time { return t0 })
	return s
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
}

func call(t *testing.T, s *githubtest.Server, method, path, body string, headers ...string) answer {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL()+strings.TrimPrefix(path, "/"), r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header}
	if len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, &a.body); err != nil {
			t.Fatalf("%s %s: %s is not a JSON object", method, path, data)
		}
	}
	return a
}

const dispatchPath = "/repos/acme/shop/actions/workflows/promote.yml/dispatches"

func dispatchBody(inputs map[string]any, details bool) string {
	b, _ := json.Marshal(map[string]any{"ref": "main", "inputs": inputs, "return_run_details": details})
	return string(b)
}

func promotions(services ...string) string {
	items := make([]map[string]string, len(services))
	for i, s := range services {
		items[i] = map[string]string{"service": s, "image": "registry.example/" + s + "@sha256:00"}
	}
	b, _ := json.Marshal(items)
	return string(b)
}

func TestDispatchIsValidatedAsGitHubDoes(t *testing.T) {
	s := start(t)
	good := map[string]any{"release_id": "r-1", "promotions": promotions("saver")}
	for _, tc := range []struct {
		name, path, body string
		status           int
		message          string
	}{
		{"unknown workflow", "/repos/acme/shop/actions/workflows/other.yml/dispatches", dispatchBody(good, true), 404, "Not Found"},
		{"no ref", dispatchPath, `{"inputs": {}}`, 422, "Invalid request.\n\n\"ref\" wasn't supplied."},
		{"unknown ref", dispatchPath, `{"ref": "develop"}`, 422, "No ref found for: develop"},
		{"undeclared inputs", dispatchPath, dispatchBody(map[string]any{"release_id": "r", "promotions": "[]", "b": "1", "a": "2"}, true), 422, `Unexpected inputs provided: ["a", "b"]`},
		{"not a string", dispatchPath, dispatchBody(map[string]any{"release_id": 5, "promotions": "[]"}, true), 422, "Invalid request.\n\nFor 'properties/release_id', 5 is not a string."},
		{"required missing", dispatchPath, dispatchBody(map[string]any{"promotions": "[]"}, true), 422, "Required input 'release_id' not provided"},
		{"not JSON", dispatchPath, `{`, 400, "Problems parsing JSON"},
	} {
		a := call(t, s, "POST", tc.path, tc.body)
		if a.status != tc.status || a.body["message"] != tc.message {
			t.Errorf("%s: %d %v; want %d %q", tc.name, a.status, a.body["message"], tc.status, tc.message)
		}
	}
	if n := len(s.Runs()); n != 0 {
		t.Fatalf("%d runs after refused dispatches", n)
	}
	a := call(t, s, "POST", dispatchPath, dispatchBody(good, true))
	if a.status != 200 || a.body["workflow_run_id"] == nil || !strings.HasPrefix(a.body["run_url"].(string), s.URL()+"repos/acme/shop/actions/runs/") {
		t.Errorf("a good dispatch: %d %v", a.status, a.body)
	}
}

func TestDispatchModes(t *testing.T) {
	in := map[string]any{"release_id": "r-1", "promotions": promotions("saver")}
	for _, tc := range []struct {
		mode         githubtest.DispatchMode
		details      bool
		status, runs int
	}{
		{githubtest.ModeRunDetails, true, 200, 1},
		{githubtest.ModeRunDetails, false, 204, 1},
		{githubtest.ModeNoContent, true, 204, 1},
		{githubtest.ModeOldGHES, true, 422, 0},
		{githubtest.ModeOldGHES, false, 204, 1},
	} {
		s := start(t)
		s.SetDispatchMode(tc.mode)
		body := dispatchBody(in, tc.details)
		if !tc.details {
			body = `{"ref": "main", "inputs": ` + mustJSON(in) + `}`
		}
		a := call(t, s, "POST", dispatchPath, body)
		if a.status != tc.status || len(s.Runs()) != tc.runs {
			t.Errorf("mode %d, details %v: %d with %d runs; want %d with %d", tc.mode, tc.details, a.status, len(s.Runs()), tc.status, tc.runs)
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestARunProgressesOnTheClock(t *testing.T) {
	s := start(t, func(w *githubtest.Workflow) {
		w.QueueFor, w.Wait, w.Duration = 10*time.Second, time.Minute, 2*time.Minute
		w.Legs = map[string]githubtest.Leg{"web": {Duration: 3 * time.Minute, Conclusion: "failure"}}
	})
	var (
		mu   sync.Mutex
		done []githubtest.Run
	)
	s.OnRunCompleted(func(r githubtest.Run) { mu.Lock(); done = append(done, r); mu.Unlock() })
	call(t, s, "POST", dispatchPath, dispatchBody(map[string]any{"release_id": "r-1", "promotions": promotions("saver", "web")}, true))
	for _, step := range []struct {
		advance    time.Duration
		run, saver string
		web        string
		hooksSoFar int
	}{
		{0, "queued/", "queued/", "queued/", 0},
		{10 * time.Second, "waiting/", "waiting/", "waiting/", 0},
		{time.Minute, "in_progress/", "in_progress/", "in_progress/", 0},
		{2 * time.Minute, "in_progress/", "completed/success", "in_progress/", 0},
		{time.Minute, "completed/failure", "completed/success", "completed/failure", 1},
	} {
		s.Advance(step.advance)
		r := s.Runs()[0]
		if got := r.Status + "/" + r.Conclusion; got != step.run {
			t.Errorf("after %s more: run %s, want %s", step.advance, got, step.run)
		}
		if got := r.Jobs[0].Status + "/" + r.Jobs[0].Conclusion; got != step.saver {
			t.Errorf("saver %s, want %s", got, step.saver)
		}
		if got := r.Jobs[1].Status + "/" + r.Jobs[1].Conclusion; got != step.web {
			t.Errorf("web %s, want %s", got, step.web)
		}
		mu.Lock()
		if len(done) != step.hooksSoFar {
			t.Errorf("%d hooks run, want %d", len(done), step.hooksSoFar)
		}
		mu.Unlock()
	}
	if r := s.Runs()[0]; r.Jobs[1].CompletedAt.Sub(r.Jobs[1].StartedAt) != 3*time.Minute || r.Jobs[0].Name != "deploy (saver)" {
		t.Errorf("jobs %+v", r.Jobs)
	}
}

func TestUnreadablePromotionsFailTheRunAtOnce(t *testing.T) {
	s := start(t)
	call(t, s, "POST", dispatchPath, dispatchBody(map[string]any{"release_id": "r-1", "promotions": "not json"}, true))
	if r := s.Runs()[0]; r.Status != "completed" || r.Conclusion != "failure" || len(r.Jobs) != 0 {
		t.Errorf("run %+v", r)
	}
}

func TestCyberDojoItemsAndCutNames(t *testing.T) {
	s := start(t, func(w *githubtest.Workflow) { w.JobName = "Prod apply {incoming_repo_name} to {incoming_flow}" })
	items := `[{"incoming_repo_name": "saver", "incoming_flow": "` + strings.Repeat("f", 120) + `"}]`
	call(t, s, "POST", dispatchPath, dispatchBody(map[string]any{"release_id": "r-1", "promotions": items}, true))
	j := s.Runs()[0].Jobs[0]
	if j.Service != "saver" || len([]rune(j.Name)) != 100 || !strings.HasPrefix(j.Name, "Prod apply saver to fff") || !strings.HasSuffix(j.Name, "f...") {
		t.Errorf("job %+v", j)
	}
}

func TestReadsRevalidateAndPaginate(t *testing.T) {
	s := start(t)
	services := make([]string, 45)
	for i := range services {
		services[i] = "svc" + strings.Repeat("x", i)
	}
	a := call(t, s, "POST", dispatchPath, dispatchBody(map[string]any{"release_id": "r-1", "promotions": promotions(services...)}, true))
	run := "/repos/acme/shop/actions/runs/" + mustJSON(a.body["workflow_run_id"])
	first := call(t, s, "GET", run, "")
	etag := first.header.Get("ETag")
	if first.status != 200 || etag == "" || first.header.Get("X-RateLimit-Remaining") != "4998" {
		t.Fatalf("GET run: %d, ETag %q, remaining %q", first.status, etag, first.header.Get("X-RateLimit-Remaining"))
	}
	again := call(t, s, "GET", run, "", "If-None-Match", etag)
	if again.status != 304 || again.header.Get("X-RateLimit-Remaining") != "4998" {
		t.Errorf("revalidation: %d, remaining %s", again.status, again.header.Get("X-RateLimit-Remaining"))
	}
	s.Advance(3 * time.Minute) // the legs end
	if changed := call(t, s, "GET", run, "", "If-None-Match", etag); changed.status != 200 || changed.header.Get("ETag") == etag {
		t.Errorf("after a change: %d, ETag %s", changed.status, changed.header.Get("ETag"))
	}
	page := call(t, s, "GET", run+"/jobs?filter=latest&per_page=20&page=2", "")
	link := page.header.Get("Link")
	if len(page.body["jobs"].([]any)) != 20 || page.body["total_count"].(float64) != 45 ||
		!strings.Contains(link, "page=3") || !strings.Contains(link, `rel="next"`) || !strings.Contains(link, s.URL()) {
		t.Errorf("page 2: %d jobs, Link %s", len(page.body["jobs"].([]any)), link)
	}
	recorded := s.RequestsTo(githubtest.RouteRun)
	if len(recorded) != 3 || !recorded[1].NotModified || recorded[1].Status != 304 {
		t.Errorf("recorded %+v", recorded)
	}
}

func TestListRunsFilters(t *testing.T) {
	s := start(t, func(w *githubtest.Workflow) { w.Refs = []string{"main", "release"} })
	in := map[string]any{"release_id": "r-1", "promotions": promotions("saver")}
	call(t, s, "POST", dispatchPath, dispatchBody(in, true))
	s.Advance(time.Hour)
	call(t, s, "POST", dispatchPath, dispatchBody(in, true))
	call(t, s, "POST", dispatchPath, `{"ref": "release", "inputs": `+mustJSON(in)+`}`)
	runs := "/repos/acme/shop/actions/workflows/promote.yml/runs"
	for query, want := range map[string]float64{
		"":             3,
		"?branch=main": 2,
		"?branch=main&created=%3E%3D2026-03-02T09:30:00Z": 1,
		"?created=2026-03-02":                             3,
		"?event=push":                                     0,
	} {
		a := call(t, s, "GET", runs+query, "")
		if a.body["total_count"] != want {
			t.Errorf("runs%s: %v, want %v", query, a.body["total_count"], want)
		}
	}
	if a := call(t, s, "GET", runs+"?created=yesterday", ""); a.status != 422 {
		t.Errorf("a bad created filter: %d", a.status)
	}
}

func TestCredentialsAndFaults(t *testing.T) {
	s := start(t)
	req, _ := http.NewRequest("GET", s.URL()+"repos/acme/shop/actions/runs/1", nil)
	req.Header.Set("Authorization", "Bearer wrong")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || s.Requests()[0].Authorized {
		t.Errorf("a wrong token: %d", resp.StatusCode)
	}
	s.Script(githubtest.RouteDispatch, githubtest.Response{Status: 502, Process: true})
	a := call(t, s, "POST", dispatchPath, dispatchBody(map[string]any{"release_id": "r-1", "promotions": promotions("saver")}, true))
	if a.status != 502 || len(s.Runs()) != 1 || s.Pending(githubtest.RouteDispatch) != 0 {
		t.Errorf("a processed 502: %d with %d runs", a.status, len(s.Runs()))
	}
	s.Script(githubtest.AnyRoute, githubtest.SecondaryLimit(9))
	if a := call(t, s, "GET", "/repos/acme/shop/actions/runs/1", ""); a.status != 403 || a.header.Get("Retry-After") != "9" {
		t.Errorf("a secondary limit: %d %v", a.status, a.header)
	}
}
