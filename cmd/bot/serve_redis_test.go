package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/release-bot/release-bot/internal/store/redistest"
)

// TestServeRefusesABadRedis: a REDIS_URL that cannot work stops the start
// with one line naming the problem, never the password: an unknown scheme,
// an empty master name, Sentinels that do not answer or do not know the
// master, a wrong password for a single server or for the master; and for a
// Redis Cluster: nodes that do not answer, a URL at a server that is not a
// cluster node, a wrong password.
func TestServeRefusesABadRedis(t *testing.T) {
	t.Parallel()
	const password = "s3cret-redis-pw-17"
	dir := t.TempDir()
	cfg := filepath.Join(dir, "bot.yaml")
	if err := os.WriteFile(cfg, []byte(e2eConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	tp := redistest.StartTopology(t, redistest.TopologyOptions{Password: password})
	cl := redistest.StartCluster(t, redistest.ClusterOptions{Password: password})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	nobody := l.Addr().String()
	l.Close()
	sentinels := tp.URL()
	cases := []struct {
		name, url, pass, want string
	}{
		{"unknown scheme", "redis+sentinel://:" + password + "@" + tp.Sentinels[0].Addr() + "/" + redistest.MasterName,
			"", "REDIS_URL uses redis+sentinel://, which the Redis client does not read"},
		{"empty master name", "redis://:" + password + "@" + tp.Sentinels[0].Addr() + "/0?master_name=", "",
			"REDIS_URL has an empty master_name"},
		{"unreachable sentinels", "redis://" + nobody + "/0?master_name=" + redistest.MasterName, password,
			"REDIS_URL: none of the Sentinels (" + nobody + ") answered"},
		{"unknown master", strings.Replace(sentinels, "master_name="+redistest.MasterName, "master_name=nope", 1), password,
			`REDIS_URL: the Sentinels (` + tp.Sentinels[0].Addr() + ", " + tp.Sentinels[1].Addr() + ", " + tp.Sentinels[2].Addr() + `) do not know a master named "nope"`},
		{"wrong password behind sentinel", sentinels, "not-" + password, "REDIS_URL: Redis refused the password"},
		{"no password behind sentinel", sentinels, "", "REDIS_URL: Redis refused the password"},
		{"wrong password single server", "redis://:not-" + password + "@" + tp.Master.Addr() + "/0", "", "REDIS_URL: Redis refused the password"},
		{"unreachable cluster", "redis+cluster://" + nobody, password, "REDIS_URL: none of the Cluster nodes (" + nobody + ") answered"},
		{"cluster URL at one server", "redis+cluster://" + tp.Master.Addr(), password,
			"REDIS_URL names a Redis Cluster (redis+cluster://), but the server at " + tp.Master.Addr() + " is not a cluster node"},
		{"wrong password cluster", cl.URL(), "not-" + password, "REDIS_URL: Redis refused the password"},
		{"wrong password in a cluster URL", strings.Replace(cl.URL(), "://", "://:not-"+password+"@", 1), password, "REDIS_URL: Redis refused the password"},
		{"cluster URL with a database", "redis+cluster://" + cl.Nodes[0].Addr() + "/2", password, "REDIS_URL names a database in its path on a Redis Cluster"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{"SLACK_BOT_TOKEN": botToken, "SLACK_APP_TOKEN": appToken, "KOSLI_ORG": "o",
				"KOSLI_API_TOKEN": kosliToken, "REDIS_URL": c.url, "REDIS_PASSWORD": c.pass, "RELEASE_BOT_CONFIG": cfg}
			got := runCLI(t, "", func(k string) string { return env[k] }, "serve", "--listen", "127.0.0.1:0")
			var lines []string
			for _, line := range strings.Split(strings.TrimSpace(got.stder), "\n") {
				if strings.HasPrefix(line, "bot serve") {
					lines = append(lines, line)
				}
			}
			if got.code == exitOK || len(lines) != 1 || !strings.Contains(lines[0], c.want) {
				t.Fatalf("exit %d, stderr %q; want a failure and one line with %q", got.code, got.stder, c.want)
			}
			if strings.Contains(got.stder, password) {
				t.Fatalf("the password in %q", got.stder)
			}
		})
	}
}
