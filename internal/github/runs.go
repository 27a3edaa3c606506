package github

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	gh "github.com/google/go-github/v60/github"
)

// A run's or a job's status, as GitHub spells it.
const (
	StatusQueued     = "queued"
	StatusWaiting    = "waiting" // on an environment's reviewers
	StatusInProgress = "in_progress"
	StatusCompleted  = "completed"
)

// A completed run's or job's conclusion, as GitHub spells it.
const (
	ConclusionSuccess   = "success"
	ConclusionFailure   = "failure"
	ConclusionCancelled = "cancelled"
	ConclusionSkipped   = "skipped"
	ConclusionTimedOut  = "timed_out"
)

// maxJobPages bounds a job listing: 256 matrix legs and the jobs around them.
const maxJobPages = 20

// Run is a workflow run.
type Run struct {
	ID int64
	// Name is the workflow's name; DisplayTitle is the run's, from run-name.
	Name, DisplayTitle string
	// Status is one of the Status constants; Conclusion is set once it is completed.
	Status, Conclusion string
	// HTMLURL is the run's page; URL its API address.
	HTMLURL, URL         string
	CreatedAt, UpdatedAt time.Time
}

// Completed reports whether the run has ended.
func (r Run) Completed() bool { return r.Status == StatusCompleted }

// Job is one job of a run: for a promotion, one matrix leg.
type Job struct {
	ID int64
	// Name is the job's display name, cut by GitHub to 100 characters.
	Name string
	// Status is one of the Status constants; Conclusion is set once it is completed.
	Status, Conclusion     string
	StartedAt, CompletedAt time.Time
	HTMLURL                string
}

// Completed reports whether the job has ended.
func (j Job) Completed() bool { return j.Status == StatusCompleted }

func runOf(r *gh.WorkflowRun) Run {
	return Run{
		ID: r.GetID(), Name: r.GetName(), DisplayTitle: r.GetDisplayTitle(),
		Status: r.GetStatus(), Conclusion: r.GetConclusion(),
		HTMLURL: r.GetHTMLURL(), URL: r.GetURL(),
		CreatedAt: r.GetCreatedAt().Time, UpdatedAt: r.GetUpdatedAt().Time,
	}
}

func jobOf(j *gh.WorkflowJob) Job {
	return Job{
		ID: j.GetID(), Name: j.GetName(), Status: j.GetStatus(), Conclusion: j.GetConclusion(),
		StartedAt: j.GetStartedAt().Time, CompletedAt: j.GetCompletedAt().Time, HTMLURL: j.GetHTMLURL(),
	}
}

func (c *Client) runCall(method string, wf Workflow, runID int64, suffix string) call {
	return call{
		method: method, write: method != http.MethodGet, route: method + " /repos/{owner}/{repo}/actions/runs/{run_id}" + suffix,
		path:     wf.repoPath() + "/actions/runs/" + strconv.FormatInt(runID, 10) + suffix,
		notFound: fmt.Sprintf("GitHub has no run %d in %s/%s, or the credentials cannot see the repository", runID, wf.Owner, wf.Repo),
	}
}

// GetRun reads a run. Polling it repeatedly is cheap: an unchanged run is
// answered 304 and costs no rate limit.
//
// https://docs.github.com/rest/actions/workflow-runs#get-a-workflow-run
func (c *Client) GetRun(ctx context.Context, wf Workflow, runID int64) (Run, error) {
	if err := wf.validateRepo(); err != nil {
		return Run{}, err
	}
	var run *gh.WorkflowRun
	err := c.do(ctx, c.runCall(http.MethodGet, wf, runID, ""), func(ctx context.Context, api *gh.Client) (*gh.Response, error) {
		r, resp, err := api.Actions.GetWorkflowRunByID(ctx, wf.Owner, wf.Repo, runID)
		run = r
		return resp, err
	})
	if err != nil {
		return Run{}, err
	}
	return runOf(run), nil
}

// Jobs lists the jobs of a run's latest attempt, every page of 100.
//
// https://docs.github.com/rest/actions/workflow-jobs#list-jobs-for-a-workflow-run
func (c *Client) Jobs(ctx context.Context, wf Workflow, runID int64) ([]Job, error) {
	if err := wf.validateRepo(); err != nil {
		return nil, err
	}
	k := c.runCall(http.MethodGet, wf, runID, "/jobs")
	opts := &gh.ListWorkflowJobsOptions{Filter: "latest", ListOptions: gh.ListOptions{PerPage: 100}}
	var out []Job
	err := c.eachPage(ctx, k, maxJobPages, func(ctx context.Context, api *gh.Client, page int) (*gh.Response, error) {
		opts.Page = page
		jobs, resp, err := api.Actions.ListWorkflowJobs(ctx, wf.Owner, wf.Repo, runID, opts)
		if err != nil {
			return resp, err
		}
		for _, j := range jobs.Jobs {
			out = append(out, jobOf(j))
		}
		return resp, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CancelRun asks GitHub to cancel a run; GitHub's 202 is success, and the
// run ends as cancelled shortly after. A run that has already completed is
// an *APIError with Status 409. Like a dispatch, it is not repeated after an
// answer that leaves its fate unknown: read the run instead.
//
// https://docs.github.com/rest/actions/workflow-runs#cancel-a-workflow-run
func (c *Client) CancelRun(ctx context.Context, wf Workflow, runID int64) error {
	if err := wf.validateRepo(); err != nil {
		return err
	}
	return c.do(ctx, c.runCall(http.MethodPost, wf, runID, "/cancel"), func(ctx context.Context, api *gh.Client) (*gh.Response, error) {
		return api.Actions.CancelWorkflowRunByID(ctx, wf.Owner, wf.Repo, runID)
	})
}
