package config_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/release-bot/release-bot/internal/config"
	"github.com/release-bot/release-bot/internal/secret/secrettest"
)

const (
	botToken   = "xoxb-1111-2222-bottokenvalue"
	appToken   = "xapp-1-A0123-3333-apptokenvalue"
	kosliToken = "kosli-api-key-value-4444"
	ghToken    = "ghp_githubtokenvalue5555"
	redisPass  = "redis-password-6666"
)

var allSecrets = []string{botToken, appToken, kosliToken, ghToken, redisPass}

// environ is a complete environment for serve, with a token for GitHub.
func environ() map[string]string {
	return map[string]string{
		"SLACK_BOT_TOKEN": botToken,
		"SLACK_APP_TOKEN": appToken,
		"KOSLI_ORG":       "cyber-dojo",
		"KOSLI_API_TOKEN": kosliToken,
		"GITHUB_TOKEN":    ghToken,
		"REDIS_URL":       "redis://:" + redisPass + "@redis:6379/0",
	}
}

func fromEnv(t *testing.T, env map[string]string) (config.Env, error) {
	t.Helper()
	e, err := config.FromEnv(func(name string) string { return env[name] })
	secrettest.AssertErrAbsent(t, err, allSecrets...)
	return e, err
}

func TestFromEnvDefaults(t *testing.T) {
	e, err := fromEnv(t, environ())
	if err != nil {
		t.Fatal(err)
	}
	if e.SlackAPIURL != "https://slack.com/api/" || e.KosliHost != "https://app.kosli.com" || e.GitHubAPIURL != "https://api.github.com/" {
		t.Errorf("endpoints = %q %q %q", e.SlackAPIURL, e.KosliHost, e.GitHubAPIURL)
	}
	if e.SlackBotToken.Reveal() != botToken || e.RedisURL.Reveal() != "redis://:"+redisPass+"@redis:6379/0" || e.KosliOrg != "cyber-dojo" {
		t.Errorf("values not read: %+v", e)
	}
	if err := e.RequireServe(true); err != nil {
		t.Errorf("RequireServe: %v", err)
	}
}

func TestFromEnvNormalizesEndpoints(t *testing.T) {
	env := environ()
	env["SLACK_API_URL"] = "http://127.0.0.1:4000/api"
	env["KOSLI_HOST"] = "https://app.us.kosli.com/ "
	env["GITHUB_API_URL"] = "https://ghe.example.com/api/v3"
	env["GITHUB_APP_ID"] = "123"
	env["GITHUB_APP_INSTALLATION_ID"] = "456"
	env["GITHUB_APP_PRIVATE_KEY_FILE"] = "/etc/bot/key.pem"
	env["RELEASE_BOT_CONFIG"] = "/etc/bot/pipelines.yaml"
	delete(env, "GITHUB_TOKEN")
	e, err := fromEnv(t, env)
	if err != nil {
		t.Fatal(err)
	}
	want := config.Env{
		// Secrets are compared by Reveal in other tests; here they are copied.
		SlackBotToken: e.SlackBotToken, SlackAppToken: e.SlackAppToken, KosliAPIToken: e.KosliAPIToken, RedisURL: e.RedisURL, RedisPassword: e.RedisPassword,
		GitHubToken: e.GitHubToken,
		SlackAPIURL: "http://127.0.0.1:4000/api/", KosliHost: "https://app.us.kosli.com", KosliOrg: "cyber-dojo",
		GitHubAPIURL: "https://ghe.example.com/api/v3/", GitHubAppID: 123, GitHubAppInstallationID: 456,
		GitHubAppPrivateKeyFile: "/etc/bot/key.pem", ConfigPath: "/etc/bot/pipelines.yaml",
	}
	if e != want {
		t.Errorf("Env =\n%+v\nwant\n%+v", e, want)
	}
	if !e.UsesGitHubApp() || !e.GitHubToken.IsZero() {
		t.Error("UsesGitHubApp = false, or a GitHub token appeared")
	}
	if err := e.RequireServe(true); err != nil {
		t.Errorf("RequireServe with a GitHub App: %v", err)
	}
}

func TestFromEnvRefusesMalformedValues(t *testing.T) {
	env := environ()
	env["SLACK_API_URL"] = "slack.com/api"
	env["KOSLI_HOST"] = "https://user:" + kosliToken + "@app.kosli.com"
	env["GITHUB_API_URL"] = "ftp://ghe.example.com/"
	env["REDIS_URL"] = "http://:" + redisPass + "@redis:6379"
	env["GITHUB_APP_ID"] = "my-app"
	_, err := fromEnv(t, env)
	want := []string{
		"SLACK_API_URL must be an http or https URL, such as https://slack.com/api/",
		"KOSLI_HOST must not hold credentials; put them in the token variables, such as https://app.kosli.com",
		"GITHUB_API_URL must be an http or https URL, such as https://api.github.com/",
		"REDIS_URL must be a redis://, rediss://, redis+cluster://, rediss+cluster:// or unix:// URL, such as redis://redis:6379/0, or " +
			"redis://sentinel1:26379/0?master_name=mymaster&addr=sentinel2:26379&addr=sentinel3:26379 for Sentinel, or " +
			"redis+cluster://node1:6379?addr=node2:6379&addr=node3:6379 for Cluster",
		"GITHUB_APP_ID must be a positive whole number, as shown in the GitHub App's settings",
	}
	assertEnvErrors(t, err, want)
}

func TestFromEnvRefusesAWrongRedisDatabaseNumber(t *testing.T) {
	const want = "REDIS_URL has a wrong database number in its path: it must be a whole number from 0, such as redis://redis:6379/0"
	for _, u := range []string{
		"redis://:" + redisPass + "@redis:6379/notanumber",
		"rediss://redis/-1",
		"redis://redis/0/1",
	} {
		env := environ()
		env["REDIS_URL"] = u
		_, err := fromEnv(t, env)
		assertEnvErrors(t, err, []string{want})
	}
	env := environ()
	env["REDIS_URL"] = "unix:///run/redis.sock?db=x"
	_, err := fromEnv(t, env)
	assertEnvErrors(t, err, []string{strings.Replace(want, "its path", "its db parameter", 1)})
	for _, u := range []string{"redis://redis", "redis://redis/", "redis://redis:6379/15", "unix:///run/redis.sock?db=2"} {
		env := environ()
		env["REDIS_URL"] = u
		if _, err := fromEnv(t, env); err != nil {
			t.Errorf("REDIS_URL %s: %v", u, err)
		}
	}
}

// TestFromEnvReadsSentinelURLs: a master behind Sentinels is go-redis's
// ParseFailoverURL form; each mistake is one line without the password.
func TestFromEnvReadsSentinelURLs(t *testing.T) {
	const form = "redis://sentinel1:26379/0?master_name=mymaster&addr=sentinel2:26379&addr=sentinel3:26379"
	for _, u := range []string{
		"redis://:" + redisPass + "@s1:26379/0?master_name=mymaster&addr=s2:26379&addr=s3:26379",
		"rediss://s1:26379?master_name=mymaster",
		"redis://s1:26379/3?master_name=mymaster&password=" + redisPass,
	} {
		env := environ()
		env["REDIS_URL"] = u
		e, err := fromEnv(t, env)
		if err != nil || !config.IsSentinelURL(e.RedisURL.Reveal()) {
			t.Errorf("REDIS_URL %s: %v, sentinel %v", u, err, config.IsSentinelURL(u))
		}
	}
	if config.IsSentinelURL("redis://redis:6379/0") {
		t.Error("a single server is taken for Sentinel")
	}
	for u, want := range map[string]string{
		"redis+sentinel://:" + redisPass + "@s1:26379,s2:26379/mymaster": "REDIS_URL uses redis+sentinel://, which the Redis client does not read: name a master behind Sentinels as " + form + " (rediss:// for TLS)",
		"sentinel://s1:26379/mymaster":                                   "REDIS_URL must be a redis://, rediss://, redis+cluster://, rediss+cluster:// or unix:// URL, such as redis://redis:6379/0, or " + form + " for Sentinel, or redis+cluster://node1:6379?addr=node2:6379&addr=node3:6379 for Cluster",
		"redis://:" + redisPass + "@s1:26379/0?master_name=":             "REDIS_URL has an empty master_name: name the master the Sentinels monitor, such as " + form,
		"redis://s1:26379/0?master_name=m&addr=" + redisPass:             "REDIS_URL has an addr parameter that is not a Sentinel's host:port, such as addr=sentinel2:26379",
		"unix:///run/redis.sock?master_name=m":                           "REDIS_URL names a Sentinel master (master_name) on a unix:// URL: Sentinels are reached over TCP, such as " + form,
	} {
		env := environ()
		env["REDIS_URL"] = u
		_, err := fromEnv(t, env)
		assertEnvErrors(t, err, []string{want})
	}
}

// TestFromEnvReadsClusterURLs: a Redis Cluster is go-redis's ParseClusterURL
// form under the scheme redis+cluster:// (rediss+cluster:// for TLS); each
// mistake is one line without the password.
func TestFromEnvReadsClusterURLs(t *testing.T) {
	const form = "redis+cluster://node1:6379?addr=node2:6379&addr=node3:6379"
	for u, want := range map[string]string{
		"redis+cluster://:" + redisPass + "@n1:6379?addr=n2:6379&addr=n3:6379": "redis://:" + redisPass + "@n1:6379?addr=n2:6379&addr=n3:6379",
		"rediss+cluster://user:" + redisPass + "@n1:6380":                      "rediss://user:" + redisPass + "@n1:6380",
		"redis+cluster://n1:6379/0?dial_timeout=2s":                            "redis://n1:6379/0?dial_timeout=2s",
	} {
		env := environ()
		env["REDIS_URL"] = u
		e, err := fromEnv(t, env)
		if err != nil || !config.IsClusterURL(e.RedisURL.Reveal()) || config.IsSentinelURL(u) {
			t.Errorf("REDIS_URL %s: %v, cluster %v", u, err, config.IsClusterURL(u))
		}
		if got := config.ClusterURL(u); got != want {
			t.Errorf("ClusterURL(%s) = %s, want %s", u, got, want)
		}
	}
	for _, u := range []string{"redis://n1:6379/0", "rediss://n1:6379?master_name=m", "unix:///run/redis.sock"} {
		if config.IsClusterURL(u) {
			t.Errorf("%s is taken for a Cluster", u)
		}
	}
	for u, want := range map[string]string{
		"redis+cluster://:" + redisPass + "@n1:6379/3":                 "REDIS_URL names a database in its path on a Redis Cluster, which has only database 0, such as " + form,
		"redis+cluster://:" + redisPass + "@n1?addr=n2:6379":           "REDIS_URL names a Redis Cluster without a node's host:port, such as " + form,
		"redis+cluster://n1:6379?master_name=m":                        "REDIS_URL names both a Redis Cluster (redis+cluster://) and a Sentinel master (master_name): use one, such as " + form,
		"redis+cluster://n1:6379?addr=" + redisPass:                    "REDIS_URL has an addr parameter that is not a cluster node's host:port, such as addr=node2:6379",
		"unix+cluster:///run/redis.sock":                               "REDIS_URL must be a redis://, rediss://, redis+cluster://, rediss+cluster:// or unix:// URL, such as redis://redis:6379/0, or redis://sentinel1:26379/0?master_name=mymaster&addr=sentinel2:26379&addr=sentinel3:26379 for Sentinel, or " + form + " for Cluster",
		"redis://:" + redisPass + "@n1:6379?addr=n2:6379&addr=n3:6379": "REDIS_URL has addr parameters but no master_name: name the master behind Sentinels, such as redis://sentinel1:26379/0?master_name=mymaster&addr=sentinel2:26379&addr=sentinel3:26379, or for a Redis Cluster use " + form,
	} {
		env := environ()
		env["REDIS_URL"] = u
		_, err := fromEnv(t, env)
		assertEnvErrors(t, err, []string{want})
	}
}

// TestFromEnvKeepsREDIS_PASSWORDSecret: the password is a secret.Secret.
func TestFromEnvKeepsREDIS_PASSWORDSecret(t *testing.T) {
	env := environ()
	env["REDIS_PASSWORD"] = " " + redisPass + " "
	e, err := fromEnv(t, env)
	if err != nil {
		t.Fatal(err)
	}
	if e.RedisPassword.Reveal() != redisPass {
		t.Errorf("REDIS_PASSWORD not read (or not trimmed)")
	}
	secrettest.AssertAbsent(t, []string{redisPass}, fmt.Sprintf("%v %+v %#v", e, e, e))
}

func TestRequireServe(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(map[string]string)
		want []string
	}{
		{"nothing set", func(env map[string]string) { clear(env) }, []string{
			"SLACK_BOT_TOKEN is not set: install the Slack app and copy its Bot User OAuth Token (xoxb-…)",
			"SLACK_APP_TOKEN is not set: create an app-level token with connections:write (Basic Information → App-Level Tokens)",
			"KOSLI_ORG is not set: name the Kosli organization whose environments are promoted",
			"KOSLI_API_TOKEN is not set: create a Kosli service account and an API key for it",
			"GITHUB_TOKEN is not set: set a token with Actions read and write, or GITHUB_APP_ID, GITHUB_APP_INSTALLATION_ID and GITHUB_APP_PRIVATE_KEY_FILE for a GitHub App",
		}},
		{"tokens swapped", func(env map[string]string) {
			env["SLACK_BOT_TOKEN"], env["SLACK_APP_TOKEN"] = appToken, botToken
		}, []string{
			"SLACK_BOT_TOKEN must start with xoxb-; it holds an xapp- token, which belongs in SLACK_APP_TOKEN",
			"SLACK_APP_TOKEN must start with xapp-; it holds an xoxb- token, which belongs in SLACK_BOT_TOKEN",
		}},
		{"user token as bot token", func(env map[string]string) { env["SLACK_BOT_TOKEN"] = "xoxp-" + botToken }, []string{
			"SLACK_BOT_TOKEN must start with xoxb-",
		}},
		{"partial GitHub App", func(env map[string]string) {
			delete(env, "GITHUB_TOKEN")
			env["GITHUB_APP_ID"] = "123"
		}, []string{
			"GITHUB_APP_INSTALLATION_ID is not set: a GitHub App needs GITHUB_APP_ID, GITHUB_APP_INSTALLATION_ID and GITHUB_APP_PRIVATE_KEY_FILE",
			"GITHUB_APP_PRIVATE_KEY_FILE is not set: a GitHub App needs GITHUB_APP_ID, GITHUB_APP_INSTALLATION_ID and GITHUB_APP_PRIVATE_KEY_FILE",
		}},
		{"token and App", func(env map[string]string) { env["GITHUB_APP_PRIVATE_KEY_FILE"] = "/key.pem" }, []string{
			"GITHUB_TOKEN is set as well as a GitHub App (GITHUB_APP_*): set one or the other",
		}},
		{"no Redis is fine", func(env map[string]string) { delete(env, "REDIS_URL") }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := environ()
			tc.edit(env)
			e, err := fromEnv(t, env)
			if err != nil {
				t.Fatal(err)
			}
			err = e.RequireServe(true)
			secrettest.AssertErrAbsent(t, err, allSecrets...)
			assertEnvErrors(t, err, tc.want)
		})
	}
}

func assertEnvErrors(t *testing.T, err error, want []string) {
	t.Helper()
	var got []string
	if err != nil {
		got = strings.Split(err.Error(), "\n")
		var envErr *config.EnvError
		if !errors.As(err, &envErr) || envErr.Var == "" {
			t.Errorf("not an *EnvError: %#v", err)
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestEnvNeverPrintsSecrets formats and encodes a full Env every way a log
// line or a debug dump might.
func TestEnvNeverPrintsSecrets(t *testing.T) {
	env := environ()
	env["GITHUB_API_URL"] = "https://ghe.example.com/api/v3/"
	e, err := fromEnv(t, env)
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	ptr := &e
	outputs := []string{
		fmt.Sprint(e), fmt.Sprintf("%v", e), fmt.Sprintf("%+v", e), fmt.Sprintf("%#v", e),
		fmt.Sprintf("%v %+v %#v", ptr, ptr, ptr), string(js),
	}
	secrettest.AssertAbsent(t, allSecrets, outputs...)
	for _, out := range outputs {
		if !strings.Contains(out, "redacted") || !strings.Contains(out, "ghe.example.com") {
			t.Errorf("output lacks the redaction or the non-secret values: %s", out)
		}
	}
}

func TestRequireServeWithoutWorkflowsNeedsNoGitHub(t *testing.T) {
	e, err := config.FromEnv(func(k string) string {
		return map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "KOSLI_ORG": "o", "KOSLI_API_TOKEN": "k"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.RequireServe(false); err != nil {
		t.Errorf("RequireServe(false): %v", err)
	}
	if err := e.RequireServe(true); err == nil || !strings.Contains(err.Error(), "GITHUB_TOKEN is not set") {
		t.Errorf("RequireServe(true) = %v", err)
	}
}
