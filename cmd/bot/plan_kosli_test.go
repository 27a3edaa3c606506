package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/release-bot/release-bot/internal/kosli/kositest"
	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/secret/secrettest"
)

const kosliToken = "kosli-test-token-7f3a9c"

func kosliEnv(url string) func(string) string {
	return func(k string) string {
		switch k {
		case "KOSLI_HOST":
			return url
		case "KOSLI_ORG":
			return "cyber-dojo"
		case "KOSLI_API_TOKEN":
			return kosliToken
		}
		return ""
	}
}

// TestPlanFromKosli: `bot plan --from --to` against a fake Kosli seeded with
// a conformance fixture prints what the reference prints for that fixture
// (with the fake's host in the snapshot links).
func TestPlanFromKosli(t *testing.T) {
	t.Parallel()
	fake := kositest.Start(t, "cyber-dojo", kosliToken)
	data, err := os.ReadFile(filepath.Join(conformance, "diff-snapshots", "2.json"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := release.ParseDiff(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := fake.LoadDiff("aws-beta", "aws-prod", d); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(filepath.Join(conformance, "expected", "2.json"))
	got := runCLI(t, "", kosliEnv(fake.URL()), "plan", "--from", "aws-beta", "--to", "aws-prod", "--output", "matrix")
	if got.code != exitOK {
		t.Fatalf("exit %d: %s", got.code, got.stder)
	}
	if strings.ReplaceAll(got.stdout, fake.URL(), "https://app.kosli.com") != string(want) {
		t.Fatalf("stdout:\n%s\nwant:\n%s", got.stdout, want)
	}
	if n := len(fake.RequestsTo(kositest.RouteEnvDiff)); n != 1 {
		t.Errorf("%d env-diff requests, want 1", n)
	}
}

func TestPlanFromKosliFailures(t *testing.T) {
	t.Parallel()
	fake := kositest.Start(t, "cyber-dojo", kosliToken)
	fake.AddEnvironment("aws-prod", "ECS")
	cases := []struct {
		name   string
		getenv func(string) string
		args   []string
		code   int
		want   string
	}{
		{"unknown environment", kosliEnv(fake.URL()), []string{"--from", "aws-nope", "--to", "aws-prod"}, exitFailure, "aws-nope"},
		{"wrong token", func(k string) string {
			if k == "KOSLI_API_TOKEN" {
				return "wrong-token-123456"
			}
			return kosliEnv(fake.URL())(k)
		}, []string{"--from", "aws-beta", "--to", "aws-prod"}, exitFailure, "KOSLI_API_TOKEN"},
		{"no token", func(k string) string {
			if k == "KOSLI_API_TOKEN" {
				return ""
			}
			return kosliEnv(fake.URL())(k)
		}, []string{"--from", "aws-beta", "--to", "aws-prod"}, exitUsage, "KOSLI_API_TOKEN is not set"},
		{"unreachable", kosliEnv("http://127.0.0.1:1"), []string{"--from", "aws-beta", "--to", "aws-prod"}, exitFailure, "127.0.0.1:1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := runCLI(t, "", c.getenv, append([]string{"plan"}, c.args...)...)
			if got.code != c.code || got.stdout != "" {
				t.Fatalf("exit %d stdout %q stderr %q", got.code, got.stdout, got.stder)
			}
			if lines := strings.Split(strings.TrimSpace(got.stder), "\n"); len(lines) != 1 || !strings.Contains(got.stder, c.want) {
				t.Errorf("stderr %q, want one line containing %q", got.stder, c.want)
			}
			secrettest.AssertAbsent(t, []string{kosliToken, "wrong-token-123456"}, got.stder, got.stdout)
		})
	}
}
