package kosli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/remote"
)

// EnvDiff asks Kosli to compare two snapshots. A snappish is an environment
// name (its latest snapshot), "env#N", "env~N" or "env@{...}" (a moment:
// "env@{2023-10-02T12:00:00}" in UTC or "env@{2.hours.ago}"; kosli-dev/cli
// cmd/kosli/diffSnapshots.go). Kosli interprets it; the client passes it on.
//
// API: https://app.kosli.com/api/v2/doc/#/EnvDiff/environment_diff
func (c *Client) EnvDiff(ctx context.Context, snappish1, snappish2 string) (release.Diff, error) {
	for _, s := range []string{snappish1, snappish2} {
		if strings.TrimSpace(s) == "" {
			return release.Diff{}, &ValidationError{Field: "snappish", Value: s, Rule: "it must name an environment, as in aws-beta, aws-beta#42, aws-beta~1 or aws-beta@{2.hours.ago}"}
		}
	}
	k := call{
		method: http.MethodGet, route: "GET /env-diff/{org}",
		path:     []string{"env-diff", c.org},
		query:    url.Values{"snappish1": {snappish1}, "snappish2": {snappish2}},
		notFound: c.noEnvironment(envOf(snappish1), envOf(snappish2)),
	}
	data, _, err := c.do(ctx, k)
	if err != nil {
		return release.Diff{}, noSnapshot(c.nameMissingEnv(err, envOf(snappish1), envOf(snappish2)))
	}
	d, err := release.ParseDiff(data)
	if err != nil {
		return release.Diff{}, &DecodeError{Endpoint: k.endpoint(), Want: "an environment diff", Problem: describeDiffProblem(data, err), err: err}
	}
	return d, nil
}

// Diff compares the latest snapshots of from and to; it is EnvDiff, named as
// release.Environments wants it.
//
// API: https://app.kosli.com/api/v2/doc/#/EnvDiff/environment_diff
func (c *Client) Diff(ctx context.Context, from, to string) (release.Diff, error) {
	return c.EnvDiff(ctx, from, to)
}

// Snapshot reads one snapshot of env: id "-1" (or "") is the latest, "N" or
// "#N" the Nth, "~N" the Nth behind the latest, "@{...}" the one running at a
// moment ("@{2023-10-02T12:00:00}" in UTC, "@{2.hours.ago}"), as
// `kosli get snapshot` takes them (kosli-dev/cli cmd/kosli/getSnapshot.go).
//
// API: https://app.kosli.com/api/v2/doc/#/Snapshots/get_snapshot
func (c *Client) Snapshot(ctx context.Context, env, id string) (Snapshot, error) {
	expr, err := snapshotExpression(id)
	if err != nil {
		return Snapshot{}, err
	}
	notFound := c.noEnvironment(env)
	if expr != "-1" {
		notFound += ", or no snapshot " + strconv.Quote(env+expr)
	}
	k := call{
		method: http.MethodGet, route: "GET /snapshots/{org}/{env}/{id}",
		path: []string{"snapshots", c.org, env, expr}, notFound: notFound,
	}
	var s Snapshot
	data, _, err := c.do(ctx, k)
	if err != nil {
		return Snapshot{}, err
	}
	if err := decodeJSON(k, data, '{', "a snapshot", &s); err != nil {
		return Snapshot{}, err
	}
	return s, nil
}

// snapshotExpression turns the id forms Snapshot accepts into the path
// element Kosli expects ("-1", "#N", "~N", "@{...}"; escaped later, as
// kosli-dev/cli cmd/kosli/cli_utils.go handleSnapshotExpressions does).
// What is inside "@{...}" is Kosli's to judge, as it is for the CLI.
func snapshotExpression(id string) (string, error) {
	id = strings.TrimSpace(id)
	if id == "" || id == "-1" {
		return "-1", nil
	}
	if inner, ok := strings.CutPrefix(id, "@{"); ok {
		if inner, ok = strings.CutSuffix(inner, "}"); ok && strings.TrimSpace(inner) != "" && !strings.ContainsAny(inner, "{}") {
			return id, nil
		}
	}
	num := strings.TrimLeft(id, "#~")
	if n, err := strconv.Atoi(num); err == nil && n >= 0 && len(id)-len(num) <= 1 {
		if id[0] == '~' {
			return id, nil
		}
		return "#" + num, nil
	}
	return "", &ValidationError{Field: "snapshot id", Value: id, Rule: `use "-1" for the latest, "N" or "#N" for the Nth, "~N" for N behind the latest, "@{2023-10-02T12:00:00}" or "@{2.hours.ago}" for the one running then`}
}

// Environments lists the org's environments.
//
// API: https://app.kosli.com/api/v2/doc/#/Environments
func (c *Client) Environments(ctx context.Context) ([]Environment, error) {
	k := call{method: http.MethodGet, route: "GET /environments/{org}", path: []string{"environments", c.org}}
	data, _, err := c.do(ctx, k)
	if err != nil {
		return nil, err
	}
	var envs []Environment
	if err := decodeJSON(k, data, '[', "a list of environments", &envs); err != nil {
		return nil, err
	}
	return envs, nil
}

// Environment reads one environment.
//
// API: https://app.kosli.com/api/v2/doc/#/Environments/get_environment
func (c *Client) Environment(ctx context.Context, name string) (Environment, error) {
	k := call{
		method: http.MethodGet, route: "GET /environments/{org}/{env}",
		path: []string{"environments", c.org, name}, notFound: c.noEnvironment(name),
	}
	data, _, err := c.do(ctx, k)
	if err != nil {
		return Environment{}, err
	}
	var e Environment
	if err := decodeJSON(k, data, '{', "an environment", &e); err != nil {
		return Environment{}, err
	}
	return e, nil
}

// Assert asks whether the artifact with fingerprint fp is compliant, in the
// scope q sets. An unknown fingerprint is an *APIError (see Compliance, which
// turns it into a verdict).
//
// API: https://app.kosli.com/api/v2/doc/#/Asserts/assert_artifact
func (c *Client) Assert(ctx context.Context, fp string, q AssertQuery) (Assertion, error) {
	query := url.Values{}
	if q.Environment != "" {
		query.Set("environment_name", q.Environment)
	}
	if q.Flow != "" {
		query.Set("flow_name", q.Flow)
	}
	for _, p := range q.Policies {
		query.Add("policy_name", p)
	}
	k := call{
		method: http.MethodGet, route: "GET /asserts/{org}/fingerprint/{fp}",
		path: []string{"asserts", c.org, "fingerprint", fp}, query: query,
	}
	data, _, err := c.do(ctx, k)
	if err != nil {
		var api *APIError
		if unknownArtifact(err) && errors.As(err, &api) {
			api.Summary = fmt.Sprintf("Kosli has no artifact with fingerprint %s in org %q", fp, c.org)
		}
		return Assertion{}, err
	}
	var probe struct {
		Compliant *bool `json:"compliant"`
	}
	if err := decodeJSON(k, data, '{', "an assertion", &probe); err != nil {
		return Assertion{}, err
	}
	if probe.Compliant == nil {
		return Assertion{}, &DecodeError{Endpoint: k.endpoint(), Want: "an assertion", Problem: `it has no "compliant" verdict`}
	}
	var a Assertion
	if err := decodeJSON(k, data, '{', "an assertion", &a); err != nil {
		return Assertion{}, err
	}
	return a, nil
}

// envOf takes the environment name out of a snappish ("aws-beta#12" → "aws-beta").
func envOf(snappish string) string {
	if i := strings.IndexAny(snappish, "#~@"); i >= 0 {
		return snappish[:i]
	}
	return snappish
}

func (c *Client) noEnvironment(envs ...string) string {
	quoted := make([]string, 0, len(envs))
	for _, e := range envs {
		quoted = append(quoted, strconv.Quote(e))
	}
	return fmt.Sprintf("Kosli has no environment %s in org %q", strings.Join(quoted, " or "), c.org)
}

// nameMissingEnv narrows a 404's summary to the environments Kosli's message
// names, when it names some: a 404 on a diff does not say which side is missing
// other than in words.
func (c *Client) nameMissingEnv(err error, envs ...string) error {
	var api *APIError
	if !errors.As(err, &api) || api.Status != http.StatusNotFound || len(envs) < 2 {
		return err
	}
	var named []string
	for _, e := range envs {
		if e != "" && strings.Contains(api.Message, e) {
			named = append(named, e)
		}
	}
	if len(named) > 0 && len(named) < len(envs) {
		api.Summary = c.noEnvironment(named...)
	}
	return err
}

func describeDiffProblem(data []byte, err error) string {
	t := strings.TrimSpace(string(data))
	if t == "" || t[0] != '{' {
		return describe(data)
	}
	return remote.Clip(err.Error())
}
