package redistest

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// MasterName is the name the Sentinels of a Topology monitor.
const MasterName = "rbmaster"

// TopologyOptions shapes a Sentinel topology.
type TopologyOptions struct {
	// Replicas of the master; 1 when zero.
	Replicas int
	// DownAfter is the Sentinels' down-after-milliseconds; 2s when zero.
	DownAfter time.Duration
	// Password, when set, is required by the master and replicas (requirepass,
	// masterauth) and given to the Sentinels (auth-pass); the Sentinels
	// themselves take none.
	Password string
}

// Topology is a master, its replicas and three Sentinels (quorum 2) on
// loopback, each a redis-server process owned by one test: what operators
// run for high availability, small enough for a test.
type Topology struct {
	// Master is the server that was master at start; after a failover it
	// may be a replica, or dead.
	Master    *Server
	Replicas  []*Server
	Sentinels []*Server
	password  string
}

// StartTopology launches the servers, then the Sentinels, and returns once
// every Sentinel knows the master, its replicas and the other Sentinels, so
// that a failover can start as soon as the master fails.
func StartTopology(t testing.TB, o TopologyOptions) *Topology {
	t.Helper()
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	if o.DownAfter <= 0 {
		o.DownAfter = 2 * time.Second
	}
	auth := func(args []string) []string {
		if o.Password == "" {
			return args
		}
		return append(args, "--requirepass", o.Password, "--masterauth", o.Password)
	}
	tp := &Topology{password: o.Password}
	tp.Master = launchWith(t, func(s *Server) []string { return auth(serverArgs(s, "no")) })
	for range o.Replicas {
		tp.Replicas = append(tp.Replicas, launchWith(t, func(s *Server) []string {
			return auth(append(serverArgs(s, "no"), "--replicaof", "127.0.0.1", strconv.Itoa(tp.Master.port)))
		}))
	}
	for range 3 {
		tp.Sentinels = append(tp.Sentinels, launchWith(t, func(s *Server) []string {
			conf := filepath.Join(s.dir, "sentinel.conf")
			lines := []string{
				"port " + strconv.Itoa(s.port), "bind 127.0.0.1", "dir " + s.dir,
				"logfile " + filepath.Join(s.dir, "redis.log"),
				fmt.Sprintf("sentinel monitor %s 127.0.0.1 %d 2", MasterName, tp.Master.port),
				fmt.Sprintf("sentinel down-after-milliseconds %s %d", MasterName, o.DownAfter.Milliseconds()),
				fmt.Sprintf("sentinel failover-timeout %s %d", MasterName, (4 * o.DownAfter).Milliseconds()),
				fmt.Sprintf("sentinel parallel-syncs %s 1", MasterName),
			}
			if o.Password != "" {
				lines = append(lines, fmt.Sprintf("sentinel auth-pass %s %s", MasterName, o.Password))
			}
			// Sentinel rewrites the file as it learns; a restart (Start) reuses it.
			if err := os.WriteFile(conf, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
				t.Fatalf("redistest: %v", err)
			}
			return []string{conf, "--sentinel"}
		}))
	}
	tp.waitSettled(t, o.Replicas)
	return tp
}

// serverArgs are a data server's arguments: no persistence, loopback only.
func serverArgs(s *Server, appendonly string) []string {
	return []string{
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--dir", s.dir,
		"--save", "", "--appendonly", appendonly, "--daemonize", "no",
		"--logfile", filepath.Join(s.dir, "redis.log"),
	}
}

// waitSettled waits until each Sentinel sees the replicas and two peers.
func (tp *Topology) waitSettled(t testing.TB, replicas int) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(startTimeout)
	m := redis.NewClient(&redis.Options{Addr: tp.Master.Addr(), Password: tp.password})
	defer m.Close()
	for {
		info, err := m.Info(ctx, "replication").Result()
		if err == nil && strings.Count(info, "state=online") == replicas {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("redistest: the replicas did not come online: %v %q", err, info)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, s := range tp.Sentinels {
		c := redis.NewSentinelClient(&redis.Options{Addr: s.Addr()})
		for {
			m, err := c.Master(ctx, MasterName).Result()
			if err == nil && m["num-slaves"] == strconv.Itoa(replicas) && m["num-other-sentinels"] == "2" {
				break
			}
			if time.Now().After(deadline) {
				c.Close()
				t.Fatalf("redistest: sentinel %s did not settle: %v %v: %s", s.Addr(), m, err, s.log())
			}
			time.Sleep(50 * time.Millisecond)
		}
		c.Close()
	}
}

// URL is REDIS_URL for the topology, in go-redis's ParseFailoverURL form:
// the first Sentinel as host, the others as addr parameters.
func (tp *Topology) URL() string {
	q := url.Values{"master_name": {MasterName}}
	for _, s := range tp.Sentinels[1:] {
		q.Add("addr", s.Addr())
	}
	return "redis://" + tp.Sentinels[0].Addr() + "/0?" + q.Encode()
}

// Client returns a Sentinel-aware client of the topology's master, closed
// when t ends.
func (tp *Topology) Client(t testing.TB) *redis.Client {
	addrs := make([]string, len(tp.Sentinels))
	for i, s := range tp.Sentinels {
		addrs[i] = s.Addr()
	}
	c := redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName: MasterName, SentinelAddrs: addrs, Password: tp.password, PoolSize: 64,
	})
	t.Cleanup(func() { c.Close() })
	return c
}

// MasterAddr is the master's host:port as the first Sentinel that answers says.
func (tp *Topology) MasterAddr(ctx context.Context) (string, error) {
	var err error
	for _, s := range tp.Sentinels {
		c := redis.NewSentinelClient(&redis.Options{Addr: s.Addr()})
		var hp []string
		hp, err = c.GetMasterAddrByName(ctx, MasterName).Result()
		c.Close()
		if err == nil && len(hp) == 2 {
			return net.JoinHostPort(hp[0], hp[1]), nil
		}
	}
	return "", fmt.Errorf("no sentinel names the master: %v", err)
}

// PID is the server's process id, 0 when it is not running.
func (s *Server) PID() int {
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Kill ends the server with SIGKILL: no shutdown, no flush, the way a
// machine fails. Start brings it back on the same port.
func (s *Server) Kill(t testing.TB) {
	t.Helper()
	if s.cmd == nil {
		return
	}
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatalf("redistest: kill %d: %v", s.PID(), err)
	}
	<-s.done
	s.cmd = nil
}

// Rejoin starts a stopped (or killed) data server again as a replica of the
// master the Sentinels name now, as a Sentinel-aware supervisor restarts a
// failed master, and returns once it is in sync. Starting it as it was would
// leave it a master with no data until the Sentinels demote it, which takes
// them a while.
func (tp *Topology) Rejoin(t testing.TB, s *Server) {
	t.Helper()
	ctx := context.Background()
	addr, err := tp.MasterAddr(ctx)
	if err != nil {
		t.Fatalf("redistest: rejoin: %v", err)
	}
	host, port, _ := net.SplitHostPort(addr)
	args := slices.Clone(s.args)
	if i := slices.Index(args, "--replicaof"); i >= 0 {
		args = slices.Delete(args, i, i+3)
	}
	s.args = append(args, "--replicaof", host, port)
	s.Start(t)
	c := redis.NewClient(&redis.Options{Addr: s.Addr(), Password: tp.password})
	defer c.Close()
	deadline := time.Now().Add(startTimeout)
	for {
		info, err := c.Info(ctx, "replication").Result()
		if err == nil && strings.Contains(info, "master_link_status:up") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("redistest: %s did not sync with %s: %v", s.Addr(), addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
