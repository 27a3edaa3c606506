package config

import (
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/release-bot/release-bot/internal/secret"
)

// Defaults for endpoints the environment leaves out. Every base URL is
// configurable so that tests can point the bot at wire-level fakes, and
// GitHub Enterprise Server, Kosli's US region and GovSlack can be used.
const (
	DefaultSlackAPIURL  = "https://slack.com/api/"
	DefaultKosliHost    = "https://app.kosli.com"
	DefaultGitHubAPIURL = "https://api.github.com/"
)

// Env is what the bot takes from its environment, under the names each
// ecosystem uses. Every credential is a secret.Secret, so printing or
// encoding an Env, with any verb, shows "<redacted>" in its place.
type Env struct {
	// SlackBotToken (SLACK_BOT_TOKEN, xoxb-…) calls Slack's Web API.
	SlackBotToken secret.Secret
	// SlackAppToken (SLACK_APP_TOKEN, xapp-…) opens the Socket Mode connection.
	SlackAppToken secret.Secret
	// SlackAPIURL (SLACK_API_URL) is Slack's Web API base; it ends with "/".
	SlackAPIURL string
	// KosliHost (KOSLI_HOST) is Kosli's base URL, without a trailing "/".
	KosliHost string
	// KosliOrg (KOSLI_ORG) is the Kosli organization whose environments are promoted.
	KosliOrg string
	// KosliAPIToken (KOSLI_API_TOKEN) is a Kosli API key.
	KosliAPIToken secret.Secret
	// RedisURL (REDIS_URL) may hold a password; empty means an embedded,
	// forgetful Redis. One server is redis://host:6379/0 (rediss:// for TLS,
	// unix:///path); a master behind Sentinels is go-redis's
	// ParseFailoverURL form, told apart by its master_name parameter:
	// redis://sentinel1:26379/0?master_name=mymaster&addr=sentinel2:26379;
	// a Redis Cluster is go-redis's ParseClusterURL form with the scheme
	// redis+cluster:// (rediss+cluster:// for TLS), which the bot reads as
	// redis:// (rediss://): redis+cluster://node1:6379?addr=node2:6379.
	RedisURL secret.Secret
	// RedisPassword (REDIS_PASSWORD) is the Redis servers' password when
	// REDIS_URL holds none for them, so that the URL need not be a secret.
	RedisPassword secret.Secret
	// GitHubToken (GITHUB_TOKEN) authenticates to GitHub, unless a GitHub App does.
	GitHubToken secret.Secret
	// GitHubAPIURL (GITHUB_API_URL) is GitHub's REST API base; it ends with "/".
	GitHubAPIURL string
	// GitHubAppID (GITHUB_APP_ID), 0 when unset.
	GitHubAppID int64
	// GitHubAppInstallationID (GITHUB_APP_INSTALLATION_ID), 0 when unset.
	GitHubAppInstallationID int64
	// GitHubAppPrivateKeyFile (GITHUB_APP_PRIVATE_KEY_FILE) is the path of the App's PEM key.
	GitHubAppPrivateKeyFile string
	// ConfigPath (RELEASE_BOT_CONFIG) is the pipelines file, when no --config flag names one.
	ConfigPath string
}

// EnvError is one problem with an environment variable. Its text names the
// variable and never includes the value.
type EnvError struct {
	// Var is the variable's name, e.g. SLACK_BOT_TOKEN.
	Var string
	// Problem completes the sentence that starts with the name.
	Problem string
}

// Error implements error: "SLACK_BOT_TOKEN must start with xoxb-".
func (e *EnvError) Error() string { return e.Var + " " + e.Problem }

// FromEnv reads the environment through getenv (os.Getenv in main, a map in
// tests), trims the values, fills in default endpoints and checks the form
// of what is set: URLs and numeric ids. Whether everything a command needs
// is set is for RequireServe (and its kin) to say.
func FromEnv(getenv func(string) string) (Env, error) {
	get := func(name string) string { return strings.TrimSpace(getenv(name)) }
	var errs []error
	e := Env{
		SlackBotToken:           secret.New(get("SLACK_BOT_TOKEN")),
		SlackAppToken:           secret.New(get("SLACK_APP_TOKEN")),
		KosliOrg:                get("KOSLI_ORG"),
		KosliAPIToken:           secret.New(get("KOSLI_API_TOKEN")),
		RedisURL:                secret.New(get("REDIS_URL")),
		RedisPassword:           secret.New(get("REDIS_PASSWORD")),
		GitHubToken:             secret.New(get("GITHUB_TOKEN")),
		GitHubAppPrivateKeyFile: get("GITHUB_APP_PRIVATE_KEY_FILE"),
		ConfigPath:              get("RELEASE_BOT_CONFIG"),
	}
	endpoint := func(name, def string, slash bool) string {
		v := get(name)
		if v == "" {
			return def
		}
		if problem := checkURL(v, "must be an http or https URL", "http", "https"); problem != "" {
			errs = append(errs, &EnvError{name, problem + ", such as " + def})
			return def
		}
		if slash && !strings.HasSuffix(v, "/") {
			v += "/"
		}
		if !slash {
			v = strings.TrimRight(v, "/")
		}
		return v
	}
	e.SlackAPIURL = endpoint("SLACK_API_URL", DefaultSlackAPIURL, true)
	e.KosliHost = endpoint("KOSLI_HOST", DefaultKosliHost, false)
	e.GitHubAPIURL = endpoint("GITHUB_API_URL", DefaultGitHubAPIURL, true)

	if v := e.RedisURL.Reveal(); v != "" {
		// The value may hold a password: the problem never quotes it.
		if problem := checkRedisURL(v); problem != "" {
			errs = append(errs, &EnvError{"REDIS_URL", problem})
		}
	}
	id := func(name string) int64 {
		v := get(name)
		if v == "" {
			return 0
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			errs = append(errs, &EnvError{name, "must be a positive whole number, as shown in the GitHub App's settings"})
			return 0
		}
		return n
	}
	e.GitHubAppID = id("GITHUB_APP_ID")
	e.GitHubAppInstallationID = id("GITHUB_APP_INSTALLATION_ID")
	return e, errors.Join(errs...)
}

// checkURL returns what is wrong with an absolute URL of one of the schemes
// (want, when it is not one), or "". Credentials in an endpoint URL would end up in logs, so they are
// refused; the error of url.Parse is not used because it quotes the value.
func checkURL(raw, want string, schemes ...string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return want
	case u.Scheme == "unix":
		if u.Path == "" {
			return want
		}
	case u.Host == "" || u.Opaque != "":
		return want
	}
	for _, s := range schemes {
		if u.Scheme != s {
			continue
		}
		if u.User != nil && schemes[0] == "http" {
			return "must not hold credentials; put them in the token variables"
		}
		if (u.RawQuery != "" || u.Fragment != "") && schemes[0] == "http" {
			return "must not have a query or a fragment"
		}
		return ""
	}
	return want
}

// sentinelExample is the form of a Sentinel REDIS_URL, for problems.
const sentinelExample = "redis://sentinel1:26379/0?master_name=mymaster&addr=sentinel2:26379&addr=sentinel3:26379"

// IsSentinelURL reports whether a REDIS_URL names a master behind Sentinels
// (go-redis's ParseFailoverURL form, with a master_name parameter) rather
// than one server.
func IsSentinelURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.Query().Has("master_name")
}

// clusterExample is the form of a Cluster REDIS_URL, for problems.
const clusterExample = "redis+cluster://node1:6379?addr=node2:6379&addr=node3:6379"

// IsClusterURL reports whether a REDIS_URL names a Redis Cluster: the
// scheme redis+cluster:// or rediss+cluster://. go-redis's ParseClusterURL
// reads the same URL with redis:// (rediss://), which one server's URL
// also has, hence the marker.
func IsClusterURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "redis+cluster" || u.Scheme == "rediss+cluster")
}

// ClusterURL is a Cluster REDIS_URL as go-redis's ParseClusterURL reads it:
// without the +cluster marker.
func ClusterURL(raw string) string {
	scheme, rest, _ := strings.Cut(raw, "+cluster://")
	return scheme + "://" + rest
}

// checkRedisURL returns what is wrong with a REDIS_URL, or "", never quoting it.
func checkRedisURL(raw string) string {
	if u, err := url.Parse(raw); err == nil && strings.HasSuffix(u.Scheme, "+sentinel") {
		return "uses " + u.Scheme + "://, which the Redis client does not read: name a master behind Sentinels as " +
			sentinelExample + " (rediss:// for TLS)"
	}
	if IsClusterURL(raw) {
		return checkClusterURL(raw)
	}
	if problem := checkURL(raw, "must be a redis://, rediss://, redis+cluster://, rediss+cluster:// or unix:// URL", "redis", "rediss", "unix"); problem != "" {
		return problem + ", such as redis://redis:6379/0, or " + sentinelExample + " for Sentinel, or " + clusterExample + " for Cluster"
	}
	if problem := checkRedisDB(raw); problem != "" {
		return problem
	}
	u, _ := url.Parse(raw)
	q := u.Query()
	if !IsSentinelURL(raw) {
		if q.Has("addr") {
			return "has addr parameters but no master_name: name the master behind Sentinels, such as " + sentinelExample +
				", or for a Redis Cluster use " + clusterExample
		}
		return ""
	}
	switch {
	case u.Scheme == "unix":
		return "names a Sentinel master (master_name) on a unix:// URL: Sentinels are reached over TCP, such as " + sentinelExample
	case strings.TrimSpace(q.Get("master_name")) == "":
		return "has an empty master_name: name the master the Sentinels monitor, such as " + sentinelExample
	}
	return checkAddrs(q["addr"], "a Sentinel's host:port, such as addr=sentinel2:26379")
}

// checkClusterURL returns what is wrong with a redis+cluster:// REDIS_URL.
func checkClusterURL(raw string) string {
	u, _ := url.Parse(raw)
	q := u.Query()
	switch {
	case u.Host == "" || u.Port() == "":
		return "names a Redis Cluster without a node's host:port, such as " + clusterExample
	case strings.Trim(u.Path, "/") != "" && strings.Trim(u.Path, "/") != "0":
		return "names a database in its path on a Redis Cluster, which has only database 0, such as " + clusterExample
	case q.Has("master_name"):
		return "names both a Redis Cluster (redis+cluster://) and a Sentinel master (master_name): use one, such as " + clusterExample
	}
	return checkAddrs(q["addr"], "a cluster node's host:port, such as addr=node2:6379")
}

// checkAddrs returns a problem when an addr parameter is not host:port.
func checkAddrs(addrs []string, what string) string {
	for _, addr := range addrs {
		if h, p, err := net.SplitHostPort(addr); err != nil || h == "" || p == "" {
			return "has an addr parameter that is not " + what
		}
	}
	return ""
}

// checkRedisDB returns what is wrong with the database number of a Redis URL
// that checkURL accepted, or "": it is the path of a redis:// or rediss://
// URL (redis://host:6379/0) and the db query parameter of a unix:// one, and
// a whole number from 0, as go-redis's ParseURL reads it. The problem never
// quotes the value, which may hold a password.
func checkRedisDB(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	db, where := strings.Trim(u.Path, "/"), "its path"
	if u.Scheme == "unix" {
		db, where = u.Query().Get("db"), "its db parameter"
	}
	if db == "" {
		return ""
	}
	if n, err := strconv.Atoi(db); err != nil || n < 0 {
		return "has a wrong database number in " + where + ": it must be a whole number from 0, such as redis://redis:6379/0"
	}
	return ""
}

// UsesGitHubApp reports whether GitHub is reached as a GitHub App rather
// than with GITHUB_TOKEN.
func (e Env) UsesGitHubApp() bool {
	return e.GitHubAppID != 0 || e.GitHubAppInstallationID != 0 || e.GitHubAppPrivateKeyFile != ""
}

// RequireServe checks that everything `bot serve` needs is set: both Slack
// tokens with their prefixes, Kosli's organization and token, and GitHub
// credentials, either a token or all three GitHub App variables, when
// github is true (some pipeline dispatches a workflow). It names every
// missing or wrong variable, never a value.
func (e Env) RequireServe(github bool) error {
	var errs []error
	need := func(name string, set bool, hint string) bool {
		if !set {
			errs = append(errs, &EnvError{name, "is not set: " + hint})
		}
		return set
	}
	token := func(name string, s secret.Secret, prefix, hint string, others map[string]string) {
		if !need(name, !s.IsZero(), hint) || strings.HasPrefix(s.Reveal(), prefix) {
			return
		}
		problem := "must start with " + prefix
		for otherPrefix, otherVar := range others {
			if strings.HasPrefix(s.Reveal(), otherPrefix) {
				problem += "; it holds an " + otherPrefix + " token, which belongs in " + otherVar
			}
		}
		errs = append(errs, &EnvError{name, problem})
	}
	token("SLACK_BOT_TOKEN", e.SlackBotToken, "xoxb-",
		"install the Slack app and copy its Bot User OAuth Token (xoxb-…)", map[string]string{"xapp-": "SLACK_APP_TOKEN"})
	token("SLACK_APP_TOKEN", e.SlackAppToken, "xapp-",
		"create an app-level token with connections:write (Basic Information → App-Level Tokens)", map[string]string{"xoxb-": "SLACK_BOT_TOKEN"})
	need("KOSLI_ORG", e.KosliOrg != "", "name the Kosli organization whose environments are promoted")
	need("KOSLI_API_TOKEN", !e.KosliAPIToken.IsZero(), "create a Kosli service account and an API key for it")

	switch {
	case e.UsesGitHubApp() && !e.GitHubToken.IsZero():
		errs = append(errs, &EnvError{"GITHUB_TOKEN", "is set as well as a GitHub App (GITHUB_APP_*): set one or the other"})
	case e.UsesGitHubApp():
		const hint = "a GitHub App needs GITHUB_APP_ID, GITHUB_APP_INSTALLATION_ID and GITHUB_APP_PRIVATE_KEY_FILE"
		need("GITHUB_APP_ID", e.GitHubAppID != 0, hint)
		need("GITHUB_APP_INSTALLATION_ID", e.GitHubAppInstallationID != 0, hint)
		need("GITHUB_APP_PRIVATE_KEY_FILE", e.GitHubAppPrivateKeyFile != "", hint)
	case github:
		need("GITHUB_TOKEN", !e.GitHubToken.IsZero(),
			"set a token with Actions read and write, or GITHUB_APP_ID, GITHUB_APP_INSTALLATION_ID and GITHUB_APP_PRIVATE_KEY_FILE for a GitHub App")
	}
	return errors.Join(errs...)
}
