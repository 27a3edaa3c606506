package githubtest

import (
	"encoding/json"
	"path"
	"strings"
	"time"
	"unicode/utf8"
)

// Workflow is a scripted workflow: what it declares and how its runs go.
type Workflow struct {
	// Repo is owner/name; File the file name under .github/workflows (promote.yml).
	Repo, File string
	// Name is the workflow's name; default the file name without its extension.
	Name string
	// Inputs are the declared workflow_dispatch inputs; nil means
	// release_id (required), manifest_digest and promotions (required).
	Inputs []Input
	// Refs are the branches it can run on; default main.
	Refs []string
	// RunName is the run-name template: {input} is replaced by that input's
	// value. Default "Promote {release_id}". With NoRunName the run is titled
	// with the workflow's name, as GitHub does without a run-name.
	RunName   string
	NoRunName bool
	// JobName names each leg: {key} is replaced by the promotion's value
	// for key, {service} by its service. Default "deploy ({service})".
	// GitHub cuts names longer than 100 characters to 97 and "...".
	JobName string
	// QueueFor is how long a run stays queued; Wait how long it then waits
	// on an environment's reviewers (status waiting) before its legs start.
	QueueFor, Wait time.Duration
	// Duration is a leg's default duration (default 2 minutes).
	Duration time.Duration
	// Legs overrides a service's duration and conclusion.
	Legs map[string]Leg
}

// Input is a declared workflow_dispatch input.
type Input struct {
	Name     string
	Required bool
}

// Leg scripts one service's deploy job.
type Leg struct {
	// Duration is from the leg's start to its end; 0 means the workflow's Duration.
	Duration time.Duration
	// Conclusion is "success" (the default) or "failure".
	Conclusion string
}

// DefaultInputs are the inputs of release-bot's example promote.yml.
var DefaultInputs = []Input{{"release_id", true}, {"manifest_digest", false}, {"promotions", true}}

// AddWorkflow declares a workflow, filling in its defaults. A later one for
// the same repository and file replaces it.
func (s *Server) AddWorkflow(w Workflow) {
	if w.Name == "" {
		w.Name = strings.TrimSuffix(w.File, path.Ext(w.File))
	}
	if w.Inputs == nil {
		w.Inputs = DefaultInputs
	}
	if len(w.Refs) == 0 {
		w.Refs = []string{"main"}
	}
	if w.RunName == "" {
		w.RunName = "Promote {release_id}"
	}
	if w.JobName == "" {
		w.JobName = "deploy ({service})"
	}
	if w.Duration <= 0 {
		w.Duration = 2 * time.Minute
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.workflows[w.Repo+"/"+w.File] = &w
}

// Run is a run as it stands at a moment.
type Run struct {
	ID int64
	// Repo is owner/name; Workflow the file name.
	Repo, Workflow string
	Ref            string
	DisplayTitle   string
	Inputs         map[string]string
	Status         string
	Conclusion     string
	Jobs           []Job
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Job is a job as it stands at a moment.
type Job struct {
	ID int64
	// Name is the display name, cut as GitHub cuts it; Service the leg's service.
	Name, Service          string
	Status, Conclusion     string
	StartedAt, CompletedAt time.Time // zero until then
}

// run is a dispatched run; its state at any time follows from these fields.
type run struct {
	id        int64
	number    int
	repo      string
	wf        *Workflow
	ref       string
	title     string
	inputs    map[string]string
	created   time.Time
	legs      []leg
	cancelled time.Time // zero unless cancelled
	fired     bool      // OnRunCompleted hooks have run
}

type leg struct {
	id         int64
	name       string
	service    string
	duration   time.Duration
	conclusion string
}

// newRun builds the run a dispatch starts; s.mu must be held.
func (s *Server) newRun(wf *Workflow, repo, ref string, inputs map[string]string) *run {
	r := &run{
		id: s.nextRunID, number: len(s.runs) + 1, repo: repo, wf: wf, ref: ref,
		inputs: inputs, created: s.now().UTC().Truncate(time.Second),
	}
	s.nextRunID++
	r.title = wf.Name
	if !wf.NoRunName {
		r.title = render(wf.RunName, inputs)
	}
	var items []map[string]any
	if json.Unmarshal([]byte(inputs["promotions"]), &items) == nil {
		for _, item := range items {
			values := map[string]string{}
			for k, v := range item {
				if str, ok := v.(string); ok {
					values[k] = str
				}
			}
			service := values["service"]
			if service == "" {
				service = values["incoming_repo_name"] // cyber-dojo's 19-key items
			}
			values["service"] = service
			l := leg{id: s.nextJobID, name: cut(render(wf.JobName, values)), service: service,
				duration: wf.Duration, conclusion: "success"}
			s.nextJobID++
			if spec, ok := wf.Legs[service]; ok {
				if spec.Duration > 0 {
					l.duration = spec.Duration
				}
				if spec.Conclusion != "" {
					l.conclusion = spec.Conclusion
				}
			}
			r.legs = append(r.legs, l)
		}
	}
	s.runs = append(s.runs, r)
	return r
}

// render replaces each {key} in template by values[key].
func render(template string, values map[string]string) string {
	out := template
	for k, v := range values {
		out = strings.ReplaceAll(out, "{"+k+"}", v)
	}
	return out
}

// cut shortens a job name as GitHub does: 100 characters at most, the last three "...".
func cut(name string) string {
	if utf8.RuneCountInString(name) <= 100 {
		return name
	}
	return string([]rune(name)[:97]) + "..."
}

// legsStart is when the run's legs start, after queueing and waiting.
func (r *run) legsStart() time.Time { return r.created.Add(r.wf.QueueFor + r.wf.Wait) }

// ends is when the run completes unless cancelled first: a run with no
// legs (promotions missing or unreadable) fails at once, as GitHub fails
// a matrix it cannot expand.
func (r *run) ends() time.Time {
	if len(r.legs) == 0 {
		return r.created
	}
	end := r.legsStart()
	for _, l := range r.legs {
		end = later(end, r.legsStart().Add(l.duration))
	}
	return end
}

func (r *run) completedBy(now time.Time) bool {
	return !now.Before(r.ends()) || (!r.cancelled.IsZero() && !now.Before(r.cancelled))
}

// snapshot is the run at now.
func (r *run) snapshot(now time.Time) Run {
	out := Run{
		ID: r.id, Repo: r.repo, Workflow: r.wf.File, Ref: r.ref, DisplayTitle: r.title,
		Inputs: r.inputs, CreatedAt: r.created, UpdatedAt: r.created,
	}
	queued, waiting := r.created.Add(r.wf.QueueFor), r.legsStart()
	stop := r.ends()
	cancelled := !r.cancelled.IsZero() && r.cancelled.Before(stop)
	if cancelled {
		stop = r.cancelled
	}
	failed := len(r.legs) == 0
	for _, l := range r.legs {
		j := Job{ID: l.id, Name: l.name, Service: l.service}
		end := waiting.Add(l.duration)
		switch {
		case cancelled && !now.Before(r.cancelled) && r.cancelled.Before(end):
			j.Status, j.Conclusion, j.CompletedAt = "completed", "cancelled", r.cancelled
			if waiting.Before(r.cancelled) {
				j.StartedAt = waiting
			}
		case now.Before(queued):
			j.Status = "queued"
		case now.Before(waiting):
			j.Status = "waiting"
		case now.Before(end):
			j.Status, j.StartedAt = "in_progress", waiting
		default:
			j.Status, j.Conclusion, j.StartedAt, j.CompletedAt = "completed", l.conclusion, waiting, end
			failed = failed || l.conclusion != "success"
		}
		out.Jobs = append(out.Jobs, j)
	}
	switch {
	case !now.Before(stop) && cancelled:
		out.Status, out.Conclusion = "completed", "cancelled"
	case !now.Before(stop):
		out.Status, out.Conclusion = "completed", "success"
		if failed {
			out.Conclusion = "failure"
		}
	case now.Before(queued):
		out.Status = "queued"
	case now.Before(waiting):
		out.Status = "waiting"
	default:
		out.Status = "in_progress"
	}
	// updated_at is the last change up to now: what an ETag follows.
	for _, t := range []time.Time{queued, waiting, stop} {
		if !now.Before(t) {
			out.UpdatedAt = later(out.UpdatedAt, t)
		}
	}
	for _, j := range out.Jobs {
		out.UpdatedAt = later(out.UpdatedAt, j.CompletedAt)
	}
	return out
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// Runs returns every run as it stands now, oldest first.
func (s *Server) Runs() []Run {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	out := make([]Run, len(s.runs))
	for i, r := range s.runs {
		out[i] = r.snapshot(now)
	}
	return out
}
