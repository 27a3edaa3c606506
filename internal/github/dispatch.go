package github

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	gh "github.com/google/go-github/v60/github"

	"github.com/release-bot/release-bot/internal/retry"
)

// GitHub's limits on a workflow_dispatch's inputs.
const (
	maxInputs     = 25
	maxInputsSize = 65535
)

// findSlack widens the created filter of a run search: GitHub's clock and
// ours may differ, and a run is created a moment after its dispatch.
const findSlack = 2 * time.Minute

// maxRunPages bounds a run search (100 runs a page, all created since the dispatch).
const maxRunPages = 5

// DispatchResult is the run a dispatch started, as far as it is known.
type DispatchResult struct {
	// RunID is the run's id; 0 when not Found.
	RunID int64
	// RunURL is the run's API URL, HTMLURL its page.
	RunURL, HTMLURL string
	// Found is false when GitHub gave no run id and no run was found yet: the
	// dispatch was accepted, and the caller keeps looking with WaitForRun.
	Found bool
}

type dispatchRequest struct {
	Ref              string            `json:"ref"`
	Inputs           map[string]string `json:"inputs,omitempty"`
	ReturnRunDetails bool              `json:"return_run_details,omitempty"`
}

type runDetails struct {
	WorkflowRunID int64  `json:"workflow_run_id"`
	RunURL        string `json:"run_url"`
	HTMLURL       string `json:"html_url"`
}

// Dispatch starts wf with inputs (every value a string) and returns its run.
// releaseID must be shown in the workflow's run-name: it is how the run is
// found when GitHub does not return its id.
//
// It asks GitHub for the run's details (return_run_details) and takes the
// run id from the 200. On a 204, it looks for the run by releaseID for
// Options.FindRunWithin. An older GitHub Enterprise Server that refuses the
// field with a 400/422 is sent the plain dispatch once, and the run is looked for.
//
// A dispatch is not idempotent, and Dispatch never sends one that GitHub may
// have acted on twice: it repeats the POST only after an answer that proves
// nothing was done (a rate limit, a connection never made, the refused
// field). After a timeout, a broken connection or a 5xx it returns an
// *AmbiguousDispatchError, and the caller must look for the run
// (WaitForRun) instead of dispatching again. The caller records its intent
// to dispatch (durably, before calling Dispatch), so that a restart in the
// middle also looks instead of dispatching again.
//
// A nil error means GitHub accepted the dispatch, whether or not its run was found yet.
//
// https://docs.github.com/rest/actions/workflows#create-a-workflow-dispatch-event
func (c *Client) Dispatch(ctx context.Context, wf Workflow, inputs map[string]string, releaseID string) (DispatchResult, error) {
	if err := wf.Validate(); err != nil {
		return DispatchResult{}, err
	}
	if err := checkInputs(inputs, releaseID); err != nil {
		return DispatchResult{}, err
	}
	if err := ctx.Err(); err != nil {
		return DispatchResult{}, err
	}
	k := call{
		method: http.MethodPost, releaseID: releaseID, write: true, route: RouteDispatch,
		path:     wf.repoPath() + "/actions/workflows/" + url.PathEscape(wf.File) + "/dispatches",
		notFound: fmt.Sprintf("GitHub has no workflow %s in %s/%s, or the credentials cannot see the repository", wf.File, wf.Owner, wf.Repo),
	}
	since := c.now()
	var body bytes.Buffer
	status, err := c.post(ctx, k, dispatchRequest{Ref: wf.Ref, Inputs: inputs, ReturnRunDetails: true}, &body)
	if refusesRunDetails(err) {
		c.log.Info().Str("release_id", releaseID).Str("workflow", wf.String()).
			Msg("GitHub does not know return_run_details; dispatching without it and finding the run by its name")
		status, err = c.post(ctx, k, dispatchRequest{Ref: wf.Ref, Inputs: inputs}, &body)
	}
	if err != nil {
		if ambiguous(err) {
			return DispatchResult{}, &AmbiguousDispatchError{Workflow: wf, ReleaseID: releaseID, Since: since, err: err}
		}
		return DispatchResult{}, err
	}
	var d runDetails
	if status == http.StatusOK && json.Unmarshal(body.Bytes(), &d) == nil && d.WorkflowRunID != 0 {
		return DispatchResult{RunID: d.WorkflowRunID, RunURL: d.RunURL, HTMLURL: d.HTMLURL, Found: true}, nil
	}
	run, found, err := c.WaitForRun(ctx, wf, releaseID, since, c.within)
	if err != nil || !found {
		ev := c.log.Info().Str("release_id", releaseID).Str("workflow", wf.String())
		if err != nil {
			ev = ev.Err(err)
		}
		ev.Msg("dispatched; its run is not found yet")
		return DispatchResult{}, nil
	}
	return DispatchResult{RunID: run.ID, RunURL: run.URL, HTMLURL: run.HTMLURL, Found: true}, nil
}

// post sends body to k's path and copies a 2xx body into out.
func (c *Client) post(ctx context.Context, k call, body any, out *bytes.Buffer) (int, error) {
	status := 0
	err := c.do(ctx, k, func(ctx context.Context, api *gh.Client) (*gh.Response, error) {
		req, err := api.NewRequest(k.method, k.path, body)
		if err != nil {
			return nil, &ValidationError{Field: "request", Rule: err.Error()}
		}
		out.Reset()
		resp, err := api.Do(ctx, req, out)
		if resp != nil && resp.Response != nil {
			status = resp.StatusCode
		}
		return resp, err
	})
	return status, err
}

// refusesRunDetails recognises an older GitHub Enterprise Server refusing
// the return_run_details field: a 400/422 that names it.
func refusesRunDetails(err error) bool {
	var api *APIError
	return errors.As(err, &api) && (api.Status == 400 || api.Status == 422) && strings.Contains(api.Message, "return_run_details")
}

// checkInputs refuses, before anything is sent, what GitHub would refuse
// after a dispatch's approval; the release is meant to be sized at propose time.
func checkInputs(inputs map[string]string, releaseID string) error {
	if strings.TrimSpace(releaseID) == "" {
		return &ValidationError{Field: "release id", Rule: "is empty; the run is found by it"}
	}
	if len(inputs) > maxInputs {
		return &ValidationError{Field: "inputs", Rule: fmt.Sprintf("%d inputs; GitHub accepts at most %d", len(inputs), maxInputs)}
	}
	data, err := json.Marshal(inputs)
	if err != nil {
		return &ValidationError{Field: "inputs", Rule: err.Error()}
	}
	if n := utf8.RuneCount(data); n > maxInputsSize {
		return &ValidationError{Field: "inputs", Rule: fmt.Sprintf("%d characters as JSON; GitHub accepts at most %d", n, maxInputsSize)}
	}
	return nil
}

// FindRun looks for the run of wf that shows releaseID in its name
// (display_title, from the workflow's run-name), among the workflow_dispatch
// runs on wf's ref created since a little before since. It returns false
// when there is none yet. When there are several, it returns the oldest.
//
// https://docs.github.com/rest/actions/workflow-runs#list-workflow-runs-for-a-workflow
func (c *Client) FindRun(ctx context.Context, wf Workflow, releaseID string, since time.Time) (Run, bool, error) {
	if err := wf.Validate(); err != nil {
		return Run{}, false, err
	}
	if strings.TrimSpace(releaseID) == "" {
		return Run{}, false, &ValidationError{Field: "release id", Rule: "is empty; the run is found by it"}
	}
	k := call{
		method: http.MethodGet, releaseID: releaseID, route: RouteListRuns,
		path:     wf.repoPath() + "/actions/workflows/" + url.PathEscape(wf.File) + "/runs",
		notFound: fmt.Sprintf("GitHub has no workflow %s in %s/%s, or the credentials cannot see the repository", wf.File, wf.Owner, wf.Repo),
	}
	opts := &gh.ListWorkflowRunsOptions{
		Event:       "workflow_dispatch",
		Branch:      wf.branch(),
		Created:     ">=" + since.Add(-findSlack).UTC().Format(time.RFC3339),
		ListOptions: gh.ListOptions{PerPage: 100},
	}
	var (
		best    *gh.WorkflowRun
		matches int
	)
	err := c.eachPage(ctx, k, maxRunPages, func(ctx context.Context, api *gh.Client, page int) (*gh.Response, error) {
		opts.Page = page
		runs, resp, err := api.Actions.ListWorkflowRunsByFileName(ctx, wf.Owner, wf.Repo, wf.File, opts)
		if err != nil {
			return resp, err
		}
		for _, r := range runs.WorkflowRuns {
			if !namesRelease(r.GetDisplayTitle(), releaseID) {
				continue
			}
			matches++
			if best == nil || r.GetCreatedAt().Before(best.GetCreatedAt().Time) {
				best = r
			}
		}
		return resp, nil
	})
	if err != nil {
		return Run{}, false, err
	}
	if best == nil {
		return Run{}, false, nil
	}
	if matches > 1 {
		c.log.Warn().Str("release_id", releaseID).Int("runs", matches).Int64("run_id", best.GetID()).
			Msg("several runs name this release; following the oldest")
	}
	return runOf(best), true, nil
}

// WaitForRun calls FindRun until the run appears or within has passed,
// waiting from 2 s up to 15 s between looks through the client's retry
// policy's Sleep. It returns false, and no error, when no run appeared.
func (c *Client) WaitForRun(ctx context.Context, wf Workflow, releaseID string, since time.Time, within time.Duration) (Run, bool, error) {
	errNotYet := errors.New("no run yet")
	start := c.now()
	var (
		waited time.Duration
		run    Run
	)
	sleep := c.policy.Sleep
	if sleep == nil {
		sleep = retry.Sleep
	}
	p := retry.Policy{
		Attempts: math.MaxInt32, // bounded by within, below
		Base:     2 * time.Second, Max: 15 * time.Second, Jitter: c.policy.Jitter,
		Sleep: func(ctx context.Context, d time.Duration) error {
			waited += d
			return sleep(ctx, d)
		},
	}
	again := func(err error) retry.Decision {
		if errors.Is(err, errNotYet) && max(waited, c.now().Sub(start)) < within {
			return retry.Again
		}
		return retry.Stop
	}
	err := retry.Do(ctx, p, again, func(ctx context.Context) error {
		r, ok, err := c.FindRun(ctx, wf, releaseID, since)
		if err != nil {
			return err
		}
		if !ok {
			return errNotYet
		}
		run = r
		return nil
	})
	switch {
	case err == nil:
		return run, true, nil
	case ctx.Err() != nil:
		return Run{}, false, fmt.Errorf("github: looking for the run of release %s: %w", releaseID, ctx.Err())
	case errors.Is(err, errNotYet):
		return Run{}, false, nil
	}
	return Run{}, false, err
}

// namesRelease reports whether title shows id as a whole token, so that
// release prod-1 is not found in the run of prod-12.
func namesRelease(title, id string) bool {
	return occurs(title, id, func(start, end int) bool {
		return (start == 0 || !idChar(title[start-1])) && (end == len(title) || !idChar(title[end]))
	})
}

func idChar(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '_' || b == '.'
}
