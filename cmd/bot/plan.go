package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/release-bot/release-bot/internal/release"
)

const planHelp = `Usage: bot plan (--from ENV --to ENV | --diff-file FILE) [flags]

Computes what a release from one environment to another would promote, by
cyber-dojo's promotion rules. Exit status: 0 a plan, 42 a refusal (a deployment
in progress, a repository that changed), 2 bad input, 1 Kosli failed.

Flags:
`

func runPlan(ctx context.Context, args []string, io stdio, getenv func(string) string, now func() time.Time) int {
	fs := newFlags("bot plan")
	from := fs.String("from", "", "the Kosli environment to promote from (e.g. aws-beta)")
	to := fs.String("to", "", "the Kosli environment to promote to (e.g. aws-prod)")
	diffFile := fs.String("diff-file", "", "read an env-diff JSON document from FILE (- for stdin) instead of asking Kosli")
	org := fs.String("org", getenv("KOSLI_ORG"), "Kosli org (default $KOSLI_ORG): needed with --from/--to; with --diff-file it only adds Kosli snapshot links, which are left out without it")
	host := fs.String("host", envOr(getenv, "KOSLI_HOST", "https://app.kosli.com"), "Kosli host (default $KOSLI_HOST or https://app.kosli.com)")
	var services multiFlag
	fs.Var(&services, "service", "keep only this service: flow NAME or NAME-ci (repeatable)")
	output := fs.String("output", "text", "text | json | matrix (the 19-key list for a GitHub Actions matrix)")
	if done, code := parseFlags(fs, args, io, planHelp); done {
		return code
	}
	// A plan is one short burst of allocation: collect rarely (measured: about
	// 10% faster on a 5,000-service diff than the default), then restore.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	switch *output {
	case "text", "json", "matrix":
	default:
		errorf(io.err, "bot plan: --output must be text, json or matrix, not %q", *output)
		return exitUsage
	}
	f := planFlags{from: *from, to: *to, diffFile: *diffFile, org: *org, host: *host, services: services, output: *output}
	return plan(ctx, f, io, getenv, now)
}

// planFlags is what `bot plan` was asked, once its flags are checked.
type planFlags struct {
	from, to, diffFile, org, host, output string
	services                              []string
}

// plan reads or fetches the diff, plans and writes the answer; it returns
// the exit status.
func plan(ctx context.Context, f planFlags, io stdio, getenv func(string) string, now func() time.Time) int {
	var (
		diff release.Diff
		err  error
	)
	switch {
	case f.diffFile != "" && (f.from != "" || f.to != ""):
		errorf(io.err, "bot plan: use either --diff-file or --from/--to, not both")
		return exitUsage
	case f.diffFile != "":
		diff, err = readDiffFile(f.diffFile, io.in)
		if err != nil {
			errorf(io.err, "bot plan: %v", err)
			return exitUsage
		}
	case f.from != "" && f.to != "" && f.org == "":
		errorf(io.err, "bot plan: --from/--to ask Kosli, which needs the org: pass --org or set KOSLI_ORG")
		return exitUsage
	case f.from != "" && f.to != "":
		diff, err = diffFromKosli(ctx, getenv, f.host, f.org, f.from, f.to)
		if err != nil {
			errorf(io.err, "bot plan: %v", err)
			var usageErr *usageError
			if errors.As(err, &usageErr) {
				return exitUsage
			}
			return exitFailure
		}
	default:
		errorf(io.err, "bot plan: say which environments: --from ENV --to ENV, or --diff-file FILE")
		return exitUsage
	}

	p := release.Compute(&diff, release.PlanOptions{
		Links:    release.Links{Host: f.host, Org: f.org},
		Services: f.services,
		Now:      now(),
	})
	if f.org == "" {
		// A diff file read without an org: a link without the org would be
		// broken, so there is none.
		for i := range p.Promotions {
			p.Promotions[i].Incoming.SnapshotURL = ""
			if o := p.Promotions[i].Outgoing; o != nil {
				o.SnapshotURL = ""
			}
		}
	}
	if p.Refused() {
		var b strings.Builder
		for _, r := range p.Refusals() {
			for _, line := range r.Lines() {
				b.WriteString(line)
				b.WriteByte('\n')
			}
		}
		_, _ = io.err.Write([]byte(b.String()))
		return exitRefused
	}
	for _, s := range p.Skipped() {
		errorf(io.err, "%s", s.Lines()[0])
	}
	var out []byte
	switch f.output {
	case "matrix":
		if err := release.WriteMatrix(io.out, p.Promotions); err != nil {
			errorf(io.err, "bot plan: writing the plan: %v", err)
			return exitFailure
		}
		return exitOK
	case "json":
		out, err = json.MarshalIndent(planJSON(&p), "", "  ")
		if err != nil {
			errorf(io.err, "bot plan: %v", err)
			return exitFailure
		}
		out = append(out, '\n')
	default:
		out = planText(&p)
	}
	if _, err := io.out.Write(out); err != nil {
		errorf(io.err, "bot plan: writing the plan: %v", err)
		return exitFailure
	}
	return exitOK
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// usageError is a problem with what the person asked for, not with Kosli.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func readDiffFile(name string, stdin io.Reader) (release.Diff, error) {
	var (
		data []byte
		err  error
	)
	if name == "-" {
		if data, err = io.ReadAll(stdin); err != nil {
			return release.Diff{}, fmt.Errorf("reading stdin: %v", err)
		}
		name = "stdin"
	} else if data, err = os.ReadFile(name); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return release.Diff{}, fmt.Errorf("%s: no such file", name)
		}
		if u := errors.Unwrap(err); u != nil {
			err = u
		}
		return release.Diff{}, fmt.Errorf("%s: %v", name, err)
	}
	d, err := release.ParseDiff(data)
	if err != nil {
		return release.Diff{}, fmt.Errorf("%s: %v", name, err)
	}
	return d, nil
}

// planDoc is the --output json document: the plan plus what it means.
type planDoc struct {
	Refused    bool              `json:"refused"`
	Source     string            `json:"source"`
	Target     string            `json:"target"`
	Unchanged  int               `json:"unchanged"`
	Promotions []promotionDoc    `json:"promotions"`
	Leaving    []release.Service `json:"leaving"`
	Blockers   []blockerDoc      `json:"blockers"`
}

type promotionDoc struct {
	Service       string                `json:"service"`
	New           bool                  `json:"new"`
	RepoMoved     bool                  `json:"repo_moved"`
	WaitedSeconds int64                 `json:"waited_seconds"`
	Waited        string                `json:"waited"`
	DiffURL       string                `json:"diff_url"`
	Incoming      *release.ArtifactInfo `json:"incoming"`
	Outgoing      *release.ArtifactInfo `json:"outgoing"`
}

type blockerDoc struct {
	release.Blocker
	Refuses bool   `json:"refuses"`
	Message string `json:"message"`
}

func planJSON(p *release.Plan) planDoc {
	doc := planDoc{
		Refused: p.Refused(), Source: p.Source.ID, Target: p.Target.ID, Unchanged: p.Unchanged,
		Promotions: make([]promotionDoc, 0, len(p.Promotions)),
		Leaving:    p.Leaving, Blockers: make([]blockerDoc, 0, len(p.Blockers)),
	}
	if doc.Leaving == nil {
		doc.Leaving = []release.Service{}
	}
	for i := range p.Promotions {
		pr := &p.Promotions[i]
		doc.Promotions = append(doc.Promotions, promotionDoc{
			Service: pr.Service, New: pr.New(), RepoMoved: pr.RepoMoved,
			WaitedSeconds: int64(pr.Waited / time.Second), Waited: release.HumanDuration(pr.Waited),
			DiffURL: pr.DiffURL, Incoming: &pr.Incoming, Outgoing: pr.Outgoing,
		})
	}
	for _, b := range p.Blockers {
		doc.Blockers = append(doc.Blockers, blockerDoc{Blocker: b, Refuses: b.Refuses(), Message: b.String()})
	}
	return doc
}

// planText is the plan as a person reads it in a terminal.
func planText(p *release.Plan) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s → %s: %d to promote, %d unchanged", p.Source.ID, p.Target.ID, len(p.Promotions), p.Unchanged)
	if n := len(p.Skipped()); n > 0 {
		fmt.Fprintf(&b, ", %d without provenance", n)
	}
	b.WriteString("\n")
	if len(p.Promotions) > 0 {
		b.WriteString("\n")
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SERVICE\tOUTGOING\tINCOMING\tWAITED\tCHANGES")
		for i := range p.Promotions {
			pr := &p.Promotions[i]
			outgoing := "(new)"
			if pr.Outgoing != nil {
				outgoing = pr.Outgoing.Commit.ShortSHA()
			}
			waited := "-"
			if pr.Waited > 0 {
				waited = release.HumanDuration(pr.Waited)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", pr.Service, outgoing, pr.Incoming.Commit.ShortSHA(), waited, pr.DiffURL)
		}
		_ = tw.Flush()
	}
	if len(p.Leaving) > 0 {
		names := make([]string, len(p.Leaving))
		for i, s := range p.Leaving {
			names[i] = s.Name
			if names[i] == "" {
				names[i] = s.ImageName
			}
		}
		fmt.Fprintf(&b, "\nOnly in %s (left as they are): %s\n", p.Target.Environment, strings.Join(names, ", "))
	}
	return b.Bytes()
}
