package kositest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/kosli/kositest"
	"github.com/release-bot/release-bot/internal/release"
)

const (
	org   = "cyber-dojo"
	token = "fake-token-0123456789"
)

// get sends an authorised GET to the fake and returns status and body.
func get(t *testing.T, srv *kositest.Server, path string, query url.Values) (int, []byte) {
	t.Helper()
	u := srv.URL() + path
	if query != nil {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

func envDiff(t *testing.T, srv *kositest.Server, s1, s2 string) (int, []byte) {
	t.Helper()
	return get(t, srv, "/api/v2/env-diff/"+org, url.Values{"snappish1": {s1}, "snappish2": {s2}})
}

// The fake, seeded from each of cyber-dojo's real diffs, computes the same diff.
func TestEnvDiffReproducesCyberDojoFixtures(t *testing.T) {
	files, err := filepath.Glob("../testdata/cyber-dojo-promotions/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			want, err := release.ParseDiff(data)
			if err != nil {
				t.Fatal(err)
			}
			srv := kositest.Start(t, org, token)
			if err := srv.LoadDiff("aws-beta", "aws-prod", want); err != nil {
				t.Fatal(err)
			}
			status, body := envDiff(t, srv, "aws-beta", "aws-prod")
			if status != http.StatusOK {
				t.Fatalf("status %d: %s", status, body)
			}
			got, err := release.ParseDiff(body)
			if err != nil {
				t.Fatal(err)
			}
			// The fixtures' snapshot ids name the environment the diff was asked about.
			want.Source.SnapshotID = "aws-beta" + want.Source.SnapshotID[len(envOf(want.Source.SnapshotID)):]
			want.Target.SnapshotID = "aws-prod" + want.Target.SnapshotID[len(envOf(want.Target.SnapshotID)):]
			if !reflect.DeepEqual(got, want) {
				t.Errorf("diff differs\n got: %+v\nwant: %+v", got, want)
			}
		})
	}
}

func envOf(id string) string {
	for i, c := range id {
		if c == '#' {
			return id[:i]
		}
	}
	return id
}

func TestEnvDiffComputesEachGroup(t *testing.T) {
	srv := kositest.Start(t, org, token)
	t0 := time.Unix(1740000000, 0)
	srv.SetClock(func() time.Time { return t0 }) // instances with no start time started when the snapshot was taken
	art := func(fp string, n int) kositest.Artifact {
		return kositest.Artifact{Name: "img-" + fp, Fingerprint: fp, Flow: fp + "-ci",
			CommitURL: "https://github.com/acme/" + fp + "/commit/0123456789012345678901234567890123456789",
			Instances: n, Started: []time.Time{t0, t0.Add(time.Duration(n) * time.Minute)}[:min(n, 2)], Compliant: true}
	}
	srv.SetEnvironment("beta", []kositest.Artifact{art("new", 1), art("same", 1), art("scaled", 3), {Name: "bare", Fingerprint: "bare", Instances: 1}})
	srv.SetEnvironment("prod", []kositest.Artifact{art("old", 1), art("scaled", 2), art("same", 1), art("gone", 0)})

	status, body := envDiff(t, srv, "beta", "prod")
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	var raw map[string]struct {
		SnapshotID string           `json:"snapshot_id"`
		Artifacts  []map[string]any `json:"artifacts"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	fps := func(group string) []string {
		var out []string
		for _, a := range raw[group].Artifacts {
			out = append(out, a["fingerprint"].(string))
		}
		return out
	}
	for group, want := range map[string][]string{
		"snappish1": {"new", "bare"}, "snappish2": {"old"}, "changed": {"scaled"}, "not-changed": {"same"},
	} {
		if got := fps(group); !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %v, want %v", group, got, want)
		}
	}
	if raw["snappish1"].SnapshotID != "beta#1" || raw["snappish2"].SnapshotID != "prod#1" {
		t.Errorf("snapshot ids %q %q", raw["snappish1"].SnapshotID, raw["snappish2"].SnapshotID)
	}
	changed := raw["changed"].Artifacts[0]
	if changed["s1_instance_count"] != 3.0 || changed["s2_instance_count"] != 2.0 {
		t.Errorf("changed counts: %v", changed)
	}
	bare := raw["snappish1"].Artifacts[1]
	if bare["flow"] != nil || bare["commit_url"] != nil {
		t.Errorf("an artifact with no provenance has flow %v, commit_url %v; want null", bare["flow"], bare["commit_url"])
	}
	if got := raw["snappish1"].Artifacts[0]["most_recent_timestamp"]; got != float64(t0.Unix()) {
		t.Errorf("most_recent_timestamp = %v", got)
	}
	if got := raw["changed"].Artifacts[0]["most_recent_timestamp"]; got != float64(t0.Add(3*time.Minute).Unix()) {
		t.Errorf("most_recent_timestamp of the newest of several instances = %v", got)
	}
}

func TestEnvDiffFollowsTheEnvironmentOverTime(t *testing.T) {
	srv := kositest.Start(t, org, token)
	a := kositest.Artifact{Name: "a", Fingerprint: "aaa", Instances: 1, Compliant: true}
	b := kositest.Artifact{Name: "b", Fingerprint: "bbb", Instances: 1, Compliant: true}
	srv.SetEnvironment("beta", []kositest.Artifact{b})
	srv.SetEnvironment("prod", []kositest.Artifact{a})
	srv.SetEnvironment("prod", []kositest.Artifact{b}) // a fake deploy

	for _, c := range []struct {
		target    string
		wantFirst int
	}{{"prod", 0}, {"prod#1", 1}, {"prod~1", 1}} {
		_, body := envDiff(t, srv, "beta", c.target)
		d, err := release.ParseDiff(body)
		if err != nil {
			t.Fatalf("%s: %v", c.target, err)
		}
		if len(d.Source.Artifacts) != c.wantFirst {
			t.Errorf("beta vs %s: %d incoming, want %d", c.target, len(d.Source.Artifacts), c.wantFirst)
		}
	}
}

func TestEnvDiffErrors(t *testing.T) {
	srv := kositest.Start(t, org, token)
	srv.SetEnvironment("beta", nil)
	srv.AddEnvironment("empty", "ECS")
	for _, c := range []struct {
		name, s1, s2 string
		status       int
		message      string
	}{
		{"unknown env", "beta", "aws-nowhere", 404, "Environment named 'aws-nowhere' does not exist for organization 'cyber-dojo'"},
		{"empty snappish", "", "beta", 400, "Bad snappish "},
		{"no snapshot", "empty", "beta", 400, "Environment 'empty' has no snapshots"},
		{"no such snapshot", "beta#9", "beta", 404, "Org: 'cyber-dojo'. Snapshot 'beta#9' resolves to 'beta#9'. len(snapshots) == 1. Indexes are 1-based"},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, body := envDiff(t, srv, c.s1, c.s2)
			var m struct{ Message string }
			_ = json.Unmarshal(body, &m)
			if status != c.status || m.Message != c.message {
				t.Errorf("got %d %q, want %d %q", status, m.Message, c.status, c.message)
			}
		})
	}
}
