package githubtest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	docsDispatch = "https://docs.github.com/rest/actions/workflows#create-a-workflow-dispatch-event"
	docsRuns     = "https://docs.github.com/rest/actions/workflow-runs"
	docsLimits   = "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api"
)

// serveDispatch validates a dispatch as GitHub does and starts a run.
func (s *Server) serveDispatch(w http.ResponseWriter, r *http.Request, repo, file string, body []byte) {
	s.mu.Lock()
	wf, ok := s.workflows[repo+"/"+file]
	mode := s.mode
	s.mu.Unlock()
	if !ok {
		writeMessage(w, http.StatusNotFound, "Not Found", docsDispatch)
		return
	}
	var req map[string]json.RawMessage
	if json.Unmarshal(body, &req) != nil {
		writeMessage(w, http.StatusBadRequest, "Problems parsing JSON", docsDispatch)
		return
	}
	var ref string
	if json.Unmarshal(req["ref"], &ref) != nil || ref == "" {
		writeMessage(w, http.StatusUnprocessableEntity, "Invalid request.\n\n\"ref\" wasn't supplied.", docsDispatch)
		return
	}
	var details bool
	if raw, asked := req["return_run_details"]; asked {
		if mode == ModeOldGHES {
			writeMessage(w, http.StatusUnprocessableEntity, "Invalid request.\n\n\"return_run_details\" is not a permitted key.", docsDispatch)
			return
		}
		_ = json.Unmarshal(raw, &details)
	}
	branch := strings.TrimPrefix(ref, "refs/heads/")
	if !slices.Contains(wf.Refs, branch) {
		writeMessage(w, http.StatusUnprocessableEntity, "No ref found for: "+ref, docsDispatch)
		return
	}
	inputs, problem := checkInputs(wf, req["inputs"])
	if problem != "" {
		writeMessage(w, http.StatusUnprocessableEntity, problem, docsDispatch)
		return
	}
	s.mu.Lock()
	run := s.newRun(wf, repo, branch, inputs)
	answer := map[string]any{
		"workflow_run_id": run.id,
		"run_url":         s.apiBase(r) + "repos/" + repo + "/actions/runs/" + strconv.FormatInt(run.id, 10),
		"html_url":        s.runHTML(repo, run.id),
	}
	s.mu.Unlock()
	if !details || mode != ModeRunDetails {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, http.StatusOK, answer)
}

// checkInputs reads the inputs object as GitHub does; problem is GitHub's message.
func checkInputs(wf *Workflow, raw json.RawMessage) (inputs map[string]string, problem string) {
	var given map[string]json.RawMessage
	if len(raw) > 0 && json.Unmarshal(raw, &given) != nil {
		return nil, "Invalid request.\n\nFor 'properties/inputs', is not an object."
	}
	if len(given) > 25 {
		return nil, "you may only define up to 25 `inputs` for a `workflow_dispatch` event"
	}
	if len(raw) > 65535 {
		return nil, "inputs are too large."
	}
	var unexpected []string
	inputs = map[string]string{}
	for name, v := range given {
		if !slices.ContainsFunc(wf.Inputs, func(in Input) bool { return in.Name == name }) {
			unexpected = append(unexpected, strconv.Quote(name))
			continue
		}
		var str string
		if json.Unmarshal(v, &str) != nil {
			return nil, fmt.Sprintf("Invalid request.\n\nFor 'properties/%s', %s is not a string.", name, v)
		}
		inputs[name] = str
	}
	if len(unexpected) > 0 {
		sort.Strings(unexpected)
		return nil, "Unexpected inputs provided: [" + strings.Join(unexpected, ", ") + "]"
	}
	for _, in := range wf.Inputs {
		if _, ok := inputs[in.Name]; in.Required && !ok {
			return nil, "Required input '" + in.Name + "' not provided"
		}
	}
	return inputs, ""
}

// serveCancel cancels a run that has not completed.
func (s *Server) serveCancel(w http.ResponseWriter, repo, id string) {
	s.mu.Lock()
	r := s.findRun(repo, id)
	now := s.now()
	switch {
	case r == nil:
		s.mu.Unlock()
		writeMessage(w, http.StatusNotFound, "Not Found", docsRuns+"#cancel-a-workflow-run")
	case r.completedBy(now):
		s.mu.Unlock()
		writeMessage(w, http.StatusConflict, "Cannot cancel a workflow run that is completed.", docsRuns+"#cancel-a-workflow-run")
	default:
		r.cancelled = now.UTC().Truncate(time.Second)
		s.mu.Unlock()
		writeJSON(w, http.StatusAccepted, map[string]any{})
	}
}

// findRun is the run id in repo; s.mu must be held.
func (s *Server) findRun(repo, id string) *run {
	for _, r := range s.runs {
		if r.repo == repo && strconv.FormatInt(r.id, 10) == id {
			return r
		}
	}
	return nil
}

// serveRead answers the GET routes, 304 when If-None-Match names the answer's ETag.
func (s *Server) serveRead(w http.ResponseWriter, r *http.Request, route Route, segs []string) {
	repo := segs[1] + "/" + segs[2]
	q := r.URL.Query()
	s.mu.Lock()
	now := s.now()
	var (
		v      any
		status = http.StatusOK
		pages  int
	)
	switch route {
	case RouteRuns:
		v, pages, status = s.listRuns(r, repo, segs[5], q, now)
	case RouteRun, RouteJobs:
		run := s.findRun(repo, segs[5])
		switch {
		case run == nil:
			v, status = map[string]string{"message": "Not Found", "documentation_url": docsRuns}, http.StatusNotFound
		case route == RouteRun:
			v = s.runJSON(r, run.snapshot(now))
		default:
			v, pages = s.listJobs(r, run.snapshot(now), q)
		}
	}
	s.mu.Unlock()
	if status != http.StatusOK {
		writeJSON(w, status, v)
		return
	}
	var buf bytes.Buffer
	_ = json.NewEncoder(&buf).Encode(v)
	sum := sha256.Sum256(buf.Bytes())
	etag := `W/"` + hex.EncodeToString(sum[:16]) + `"`
	w.Header().Set("ETag", etag)
	if pages > 1 {
		w.Header().Set("Link", s.links(r, q, pages))
	}
	if r.Header.Get("If-None-Match") == etag {
		s.rateHeaders(w)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if !s.spend(w) {
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

// listRuns filters a workflow's runs by event, branch and created; s.mu must be held.
func (s *Server) listRuns(r *http.Request, repo, file string, q url.Values, now time.Time) (any, int, int) {
	if _, ok := s.workflows[repo+"/"+file]; !ok {
		return map[string]string{"message": "Not Found", "documentation_url": docsRuns}, 0, http.StatusNotFound
	}
	created, ok := parseCreated(q.Get("created"))
	if !ok {
		return map[string]string{"message": "Invalid created filter: " + q.Get("created"), "documentation_url": docsRuns}, 0, http.StatusUnprocessableEntity
	}
	var runs []Run
	for _, run := range s.runs {
		event := q.Get("event")
		branch := q.Get("branch")
		if run.repo != repo || run.wf.File != file || (event != "" && event != "workflow_dispatch") ||
			(branch != "" && branch != run.ref) || !created(run.created) {
			continue
		}
		runs = append(runs, run.snapshot(now))
	}
	sort.SliceStable(runs, func(a, b int) bool { return runs[a].ID > runs[b].ID }) // newest first
	from, to, pages := page(q, len(runs))
	items := make([]any, 0, to-from)
	for _, run := range runs[from:to] {
		items = append(items, s.runJSON(r, run))
	}
	return map[string]any{"total_count": len(runs), "workflow_runs": items}, pages, http.StatusOK
}

// listJobs is one page of a run's jobs (every attempt is the latest: there are no re-runs).
func (s *Server) listJobs(r *http.Request, run Run, q url.Values) (any, int) {
	from, to, pages := page(q, len(run.Jobs))
	items := make([]any, 0, to-from)
	for _, j := range run.Jobs[from:to] {
		items = append(items, map[string]any{
			"id": j.ID, "run_id": run.ID, "name": j.Name, "status": j.Status, "conclusion": nullable(j.Conclusion),
			"started_at": stamp(j.StartedAt), "completed_at": stamp(j.CompletedAt), "created_at": stamp(run.CreatedAt),
			"head_branch": run.Ref, "workflow_name": s.workflows[run.Repo+"/"+run.Workflow].Name, "run_attempt": 1,
			"html_url": s.runHTML(run.Repo, run.ID) + "/job/" + strconv.FormatInt(j.ID, 10),
			"url":      s.apiBase(r) + "repos/" + run.Repo + "/actions/jobs/" + strconv.FormatInt(j.ID, 10),
			"run_url":  s.apiBase(r) + "repos/" + run.Repo + "/actions/runs/" + strconv.FormatInt(run.ID, 10),
			"labels":   []string{"ubuntu-latest"}, "steps": []any{},
		})
	}
	return map[string]any{"total_count": len(run.Jobs), "jobs": items}, pages
}

// runJSON renders a run as the API does (the fields release-bot reads and a few more); s.mu must be held.
func (s *Server) runJSON(r *http.Request, run Run) map[string]any {
	api := s.apiBase(r) + "repos/" + run.Repo + "/actions/runs/" + strconv.FormatInt(run.ID, 10)
	wf := s.workflows[run.Repo+"/"+run.Workflow]
	return map[string]any{
		"id": run.ID, "name": wf.Name, "display_title": run.DisplayTitle, "event": "workflow_dispatch",
		"status": run.Status, "conclusion": nullable(run.Conclusion), "head_branch": run.Ref,
		"path": ".github/workflows/" + run.Workflow, "run_attempt": 1,
		"created_at": stamp(run.CreatedAt), "updated_at": stamp(run.UpdatedAt), "run_started_at": stamp(run.CreatedAt),
		"html_url": s.runHTML(run.Repo, run.ID), "url": api, "jobs_url": api + "/jobs", "cancel_url": api + "/cancel",
	}
}

// page reads per_page (default 30, at most 100) and page (from 1) into a slice range.
func page(q url.Values, n int) (from, to, pages int) {
	per, _ := strconv.Atoi(q.Get("per_page"))
	if per <= 0 {
		per = 30
	}
	per = min(per, 100)
	p, _ := strconv.Atoi(q.Get("page"))
	p = max(p, 1)
	pages = max((n+per-1)/per, 1)
	from = min((p-1)*per, n)
	return from, min(from+per, n), pages
}

// links is the Link header of a paginated answer.
func (s *Server) links(r *http.Request, q url.Values, pages int) string {
	p, _ := strconv.Atoi(q.Get("page"))
	p = max(p, 1)
	at := func(n int, rel string) string {
		q2 := url.Values{}
		for k, v := range q {
			q2[k] = v
		}
		q2.Set("page", strconv.Itoa(n))
		return "<" + s.apiBase(r) + strings.TrimPrefix(r.URL.Path, "/") + "?" + q2.Encode() + `>; rel="` + rel + `"`
	}
	var parts []string
	if p < pages {
		parts = append(parts, at(p+1, "next"), at(pages, "last"))
	}
	if p > 1 {
		parts = append(parts, at(1, "first"), at(p-1, "prev"))
	}
	return strings.Join(parts, ", ")
}

// parseCreated reads the created filter: >=T, >T, <=T, <T, T..T or a date.
func parseCreated(v string) (func(time.Time) bool, bool) {
	parse := func(s string) (time.Time, bool) {
		for _, layout := range []string{time.RFC3339, "2006-01-02"} {
			if t, err := time.Parse(layout, s); err == nil {
				return t, true
			}
		}
		return time.Time{}, false
	}
	if v == "" {
		return func(time.Time) bool { return true }, true
	}
	for _, op := range []string{">=", "<=", ">", "<"} {
		if rest, ok := strings.CutPrefix(v, op); ok {
			t, ok := parse(rest)
			return func(c time.Time) bool {
				switch op {
				case ">=":
					return !c.Before(t)
				case "<=":
					return !c.After(t)
				case ">":
					return c.After(t)
				}
				return c.Before(t)
			}, ok
		}
	}
	if a, b, ok := strings.Cut(v, ".."); ok {
		from, ok1 := parse(a)
		to, ok2 := parse(b)
		return func(c time.Time) bool { return !c.Before(from) && !c.After(to) }, ok1 && ok2
	}
	day, ok := parse(v)
	return func(c time.Time) bool { return !c.Before(day) && c.Before(day.Add(24*time.Hour)) }, ok
}

// apiBase is the fake's API base as the client reached it, ending in "/".
func (s *Server) apiBase(r *http.Request) string {
	return "http://" + r.Host + s.prefix + "/"
}

func (s *Server) runHTML(repo string, id int64) string {
	return s.webBase + "/" + repo + "/actions/runs/" + strconv.FormatInt(id, 10)
}

func stamp(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// rateWindow is the primary rate limit: limit requests an hour.
type rateWindow struct {
	limit, remaining int
	reset            time.Time
}

// SetRateLimit sets the primary rate limit per hour (default 5,000) and starts a fresh window.
func (s *Server) SetRateLimit(limit int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rate = rateWindow{limit: limit}
}

// roll starts a new window when the last one has passed; s.mu must be held.
func (s *Server) roll() {
	if now := s.now(); !now.Before(s.rate.reset) {
		s.rate.reset, s.rate.remaining = now.Add(time.Hour).Truncate(time.Second), s.rate.limit
	}
}

// spend counts one request against the primary limit and sets the rate
// headers, or answers 403 when the limit is spent.
func (s *Server) spend(w http.ResponseWriter) bool {
	s.mu.Lock()
	s.roll()
	spent := s.rate.remaining <= 0
	if !spent {
		s.rate.remaining--
	}
	s.mu.Unlock()
	s.rateHeaders(w)
	if spent {
		writeMessage(w, http.StatusForbidden, "API rate limit exceeded for user.", docsLimits+"#about-primary-rate-limits")
	}
	return !spent
}

// rateHeaders sets the x-ratelimit-* headers of the current window.
func (s *Server) rateHeaders(w http.ResponseWriter) {
	s.mu.Lock()
	s.roll()
	rate := s.rate
	s.mu.Unlock()
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(rate.limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(rate.remaining))
	h.Set("X-RateLimit-Used", strconv.Itoa(rate.limit-rate.remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(rate.reset.Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")
}
