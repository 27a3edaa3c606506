package redistest

import (
	"context"
	"fmt"
	"net/url"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// ClusterOptions shapes a Redis Cluster.
type ClusterOptions struct {
	// NodeTimeout is cluster-node-timeout: how long a master may not answer
	// before the others count it failed and its replica takes over; 2s
	// when zero.
	NodeTimeout time.Duration
	// Password, when set, is required by every node (requirepass,
	// masterauth).
	Password string
}

// Cluster is a Redis Cluster of three masters, each with one replica
// (--cluster-enabled yes, slots shared by redis-cli --cluster create
// --cluster-replicas 1), every node a redis-server process on loopback
// owned by one test.
type Cluster struct {
	// Nodes are the six servers, in the order given to redis-cli: the
	// first three started as masters. Roles change with failovers: ask
	// MasterOf.
	Nodes    []*Server
	password string
}

// StartCluster launches six cluster-enabled servers, joins them into a
// cluster with one replica per master, and returns once every node says
// cluster_state:ok and every master has its replica online.
func StartCluster(t testing.TB, o ClusterOptions) *Cluster {
	t.Helper()
	if o.NodeTimeout <= 0 {
		o.NodeTimeout = 2 * time.Second
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Fatal("redistest: redis-cli not found on PATH: install redis-server (apt-get install -y redis-server), which has it")
	}
	c := &Cluster{password: o.Password}
	for range 6 {
		c.Nodes = append(c.Nodes, launchWith(t, func(s *Server) []string {
			args := append(serverArgs(s, "no"), "--cluster-enabled", "yes",
				"--cluster-config-file", "nodes.conf", // in the server's dir, so a restart rejoins
				"--cluster-node-timeout", strconv.FormatInt(o.NodeTimeout.Milliseconds(), 10))
			if o.Password != "" {
				args = append(args, "--requirepass", o.Password, "--masterauth", o.Password)
			}
			return args
		}))
	}
	args := []string{"--cluster", "create"}
	for _, s := range c.Nodes {
		args = append(args, s.Addr())
	}
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	if o.Password != "" {
		args = append(args, "-a", o.Password, "--no-auth-warning")
	}
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redistest: redis-cli --cluster create: %v: %s", err, out)
	}
	c.WaitHealthy(t)
	return c
}

// node is a plain client of one node.
func (c *Cluster) node(s *Server) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: s.Addr(), Password: c.password, MaxRetries: -1, DialTimeout: time.Second})
}

// WaitHealthy returns once every running node says cluster_state:ok and
// knows the same three masters, each with a replica whose link is up.
func (c *Cluster) WaitHealthy(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(3 * startTimeout)
	for {
		problem := c.health(ctx)
		if problem == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("redistest: the cluster did not settle: %s", problem)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *Cluster) health(ctx context.Context) string {
	online := 0
	for _, s := range c.Nodes {
		if s.cmd == nil {
			return s.Addr() + " is not running"
		}
		n := c.node(s)
		info, err := n.ClusterInfo(ctx).Result()
		repl, rerr := n.Info(ctx, "replication").Result()
		n.Close()
		if err != nil || rerr != nil {
			return fmt.Sprintf("%s: %v %v", s.Addr(), err, rerr)
		}
		if !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_known_nodes:6") {
			return s.Addr() + ": " + strings.Join(strings.Fields(info)[:5], " ")
		}
		if strings.Contains(repl, "role:slave") {
			if !strings.Contains(repl, "master_link_status:up") {
				return s.Addr() + ": replica not in sync"
			}
			online++
		}
	}
	if online != 3 {
		return fmt.Sprintf("%d replicas in sync, want 3", online)
	}
	return ""
}

// URL is REDIS_URL for the cluster: the bot's redis+cluster:// form of
// go-redis's ParseClusterURL, the first node as host, the others as addr
// parameters.
func (c *Cluster) URL() string {
	q := url.Values{}
	for _, s := range c.Nodes[1:] {
		q.Add("addr", s.Addr())
	}
	return "redis+cluster://" + c.Nodes[0].Addr() + "?" + q.Encode()
}

// Client returns a cluster client of the cluster, closed when t ends.
func (c *Cluster) Client(t testing.TB) *redis.ClusterClient {
	addrs := make([]string, len(c.Nodes))
	for i, s := range c.Nodes {
		addrs[i] = s.Addr()
	}
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, Password: c.password, PoolSize: 64})
	t.Cleanup(func() { cc.Close() })
	return cc
}

// MasterOf returns the master that serves key's slot now, as the first
// running node that answers CLUSTER SHARDS says: the shard's online master.
func (c *Cluster) MasterOf(ctx context.Context, key string) (*Server, error) {
	var lastErr error
	for _, s := range c.Nodes {
		if s.cmd == nil {
			continue
		}
		n := c.node(s)
		slot, err := n.ClusterKeySlot(ctx, key).Result()
		var shards []redis.ClusterShard
		if err == nil {
			shards, err = n.ClusterShards(ctx).Result()
		}
		n.Close()
		if err != nil {
			lastErr = err
			continue
		}
		for _, sh := range shards {
			if !slices.ContainsFunc(sh.Slots, func(r redis.SlotRange) bool { return r.Start <= slot && slot <= r.End }) {
				continue
			}
			for _, nd := range sh.Nodes {
				if nd.Role != "master" || nd.Health != "online" {
					continue
				}
				for _, cand := range c.Nodes {
					if int64(cand.port) == nd.Port {
						return cand, nil
					}
				}
				return nil, fmt.Errorf("slot %d is served by %s:%d, not a node of this cluster", slot, nd.IP, nd.Port)
			}
		}
		return nil, fmt.Errorf("no online master serves slot %d", slot)
	}
	return nil, fmt.Errorf("no node answers: %v", lastErr)
}

// Rejoin starts a killed or stopped node again. Its nodes.conf makes it
// rejoin the cluster by itself: a master that was replaced comes back as a
// replica of its replacement (with no data: the servers do not persist)
// and syncs. It returns once the cluster is healthy again.
func (c *Cluster) Rejoin(t testing.TB, s *Server) {
	t.Helper()
	s.Start(t)
	c.WaitHealthy(t)
}

// ReplicaOf returns the running node that replicates master now.
func (c *Cluster) ReplicaOf(ctx context.Context, master *Server) (*Server, error) {
	n := c.node(master)
	defer n.Close()
	info, err := n.Info(ctx, "replication").Result()
	if err != nil {
		return nil, err
	}
	for _, s := range c.Nodes {
		if s != master && s.cmd != nil && strings.Contains(info, "port="+strconv.Itoa(s.port)+",") {
			return s, nil
		}
	}
	return nil, fmt.Errorf("%s has no replica: %q", master.Addr(), info)
}
