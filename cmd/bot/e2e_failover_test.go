package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/release-bot/release-bot/internal/config"
	"github.com/release-bot/release-bot/internal/github/githubtest"
	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/secret"
	"github.com/release-bot/release-bot/internal/slackbot/slacktest"
	"github.com/release-bot/release-bot/internal/store"
	"github.com/release-bot/release-bot/internal/store/redistest"
)

// Failover budget: Sentinel's down-after-milliseconds or Redis Cluster's
// cluster-node-timeout, then an election and the promotion (about a second
// on loopback; a cluster replica waits 0.5-1s more before it asks for
// votes), then the bots' next dial or slot-map reload.
const (
	failoverDownAfter  = 2 * time.Second
	clusterNodeTimeout = 2 * time.Second
	failoverBudget     = 10 * time.Second
)

// readiness polls an instance's /readyz and remembers what it saw.
type readiness struct {
	mu       sync.Mutex
	unready  bool      // a 503 (or no answer) was seen
	readyAt  time.Time // the first 200 after a 503
	stopOnce sync.Once
	stop     chan struct{}
}

func watchReady(t *testing.T, ops string) *readiness {
	r := &readiness{stop: make(chan struct{})}
	c := &http.Client{Timeout: time.Second}
	go func() {
		for {
			select {
			case <-r.stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			ok := false
			if resp, err := c.Get("http://" + ops + "/readyz"); err == nil {
				ok = resp.StatusCode == http.StatusOK
				resp.Body.Close()
			}
			r.mu.Lock()
			if !ok {
				r.unready, r.readyAt = true, time.Time{}
			} else if r.unready && r.readyAt.IsZero() {
				r.readyAt = time.Now()
			}
			r.mu.Unlock()
		}
	}()
	t.Cleanup(func() { r.stopOnce.Do(func() { close(r.stop) }) })
	return r
}

func (r *readiness) state() (bool, time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.unready, r.readyAt
}

// haRedis is a Redis that survives the loss of a master (Sentinel or
// Cluster), as failoverScenario drives it.
type haRedis struct {
	// url is REDIS_URL for it.
	url string
	// master is the address of the master that holds pipeline's keys now.
	master func(ctx context.Context, pipeline string) (string, error)
	// kill SIGKILLs (by PID) that master; rejoin starts it again, as its
	// supervisor would, and returns once it replicates the new master.
	kill, rejoin func(t *testing.T, pipeline string)
	// client is a client of it for reading the store.
	client func(t *testing.T) redis.UniversalClient
}

// TestSentinelFailover: two bot replicas on a master, one replica and three
// Sentinels (real redis-server processes), down-after-milliseconds 2000: the
// failover scenario.
func TestSentinelFailover(t *testing.T) {
	t.Parallel()
	tp := redistest.StartTopology(t, redistest.TopologyOptions{DownAfter: failoverDownAfter})
	failoverScenario(t, haRedis{
		url:    tp.URL(),
		master: func(ctx context.Context, _ string) (string, error) { return tp.MasterAddr(ctx) },
		kill:   func(t *testing.T, _ string) { tp.Master.Kill(t) },
		rejoin: func(t *testing.T, _ string) { tp.Rejoin(t, tp.Master) },
		client: func(t *testing.T) redis.UniversalClient { return tp.Client(t) },
	})
}

// TestClusterFailover: two bot replicas on a Redis Cluster of three masters
// with a replica each, cluster-node-timeout 2000 (a replica takes over about
// 1-2s after that); the master killed is the one that owns the release's
// slot, {prod}: the failover scenario.
func TestClusterFailover(t *testing.T) {
	t.Parallel()
	cl := redistest.StartCluster(t, redistest.ClusterOptions{NodeTimeout: clusterNodeTimeout})
	var killed *redistest.Server
	failoverScenario(t, haRedis{
		url: cl.URL(),
		master: func(ctx context.Context, pipeline string) (string, error) {
			m, err := cl.MasterOf(ctx, "{"+pipeline+"}")
			if err != nil {
				return "", err
			}
			return m.Addr(), nil
		},
		kill: func(t *testing.T, pipeline string) {
			m, err := cl.MasterOf(context.Background(), "{"+pipeline+"}")
			if err != nil {
				t.Fatal(err)
			}
			killed = m
			t.Logf("killing %s (pid %d), the master of the slot of {%s}", m.Addr(), m.PID(), pipeline)
			m.Kill(t)
		},
		rejoin: func(t *testing.T, _ string) { cl.Rejoin(t, killed) },
		client: func(t *testing.T) redis.UniversalClient { return cl.Client(t) },
	})
}

// failoverScenario: two bot replicas on ha. After one approval, the master
// of the release's keys is killed (SIGKILL) while the second approval and a
// burst of 20 clicks arrive. Within the failover budget both bots are on the
// new master by themselves, /readyz having said not ready meanwhile; the
// acknowledged approval survives; decisions are refused ("click again")
// until the new master has a replica again (its old master, restarted,
// rejoins); then the second approval counts, the release is dispatched once
// and every artifact gets one thread reply.
func failoverScenario(t *testing.T, ha haRedis) {
	b := startHA(t, ha.url)
	second := b.start(replica("r2"))
	b.waitFor("two connections", func(st *slacktest.State) bool { return len(st.Connections()) == 2 })
	if !strings.Contains(b.logs.String(), `"min_replicas_acked":1`) {
		t.Fatalf("the bots do not wait for the replica:\n%s", b.logs.String())
	}
	var burst []string
	for i := range 18 {
		u := fmt.Sprintf("U0FO%07d", i)
		burst = append(burst, u)
		b.slack.AddUser(slacktest.User{ID: u, Name: "fo" + u[4:]})
	}
	burst = append(burst, carol, carol) // 20: 18 who may not approve, carol twice more

	b.command(alice, releaseChannel, "propose")
	msg := b.releaseMessage()
	id := releaseID(msg)
	pipeline := store.PipelineOf(id)
	b.click(carol, msg.TS, "release_approve")
	b.threadHas(msg.TS, "approved (1 of 2)")

	watch := []*readiness{watchReady(t, b.ops), watchReady(t, second.ops)}
	oldMaster, err := ha.master(context.Background(), pipeline)
	if err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	ha.kill(t, pipeline)
	approve := b.button(bob, msg, "release_approve")
	var wg sync.WaitGroup
	for _, u := range append([]string{bob}, burst...) {
		wg.Go(func() {
			click := approve
			click.UserID = u
			if _, err := b.slack.BlockAction(click); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()

	// Both bots find the new master by themselves.
	deadline := killed.Add(failoverBudget)
	var back time.Time
	for {
		u1, r1 := watch[0].state()
		u2, r2 := watch[1].state()
		if !r1.IsZero() && !r2.IsZero() {
			back = r1
			if r2.After(r1) {
				back = r2
			}
			if !u1 || !u2 {
				t.Error("a bot never said it was not ready")
			}
			break
		}
		if time.Now().After(deadline) {
			addr, err := ha.master(context.Background(), pipeline)
			t.Fatalf("the bots were not ready again within %v of the kill (master %s, %v; readiness %v %v)", failoverBudget, addr, err, r1, r2)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The servers agree on the new master within the budget too (a node's
	// view may trail the bots' by a gossip round).
	for {
		addr, err := ha.master(context.Background(), pipeline)
		if err == nil && addr != oldMaster {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no failover: master %s, %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("failover: both bots ready on the new master %v after the SIGKILL", back.Sub(killed).Round(100*time.Millisecond))

	// Until the new master has a replica, decisions cannot be made durable
	// and the person is asked to click again. The killed server comes back
	// as a replica of the new master, as its supervisor would restart it.
	b.click(bob, msg.TS, "release_approve")
	b.waitFor("bob to be asked to click again", func(st *slacktest.State) bool {
		return slices.ContainsFunc(st.Ephemerals(releaseChannel, bob), func(m slacktest.Message) bool {
			return strings.Contains(m.Text, "could not be recorded safely")
		})
	})
	ha.rejoin(t, pipeline)
	var approvedAt time.Time
	for approvedAt.IsZero() {
		if time.Since(killed) > 45*time.Second {
			var said []string
			b.waitFor("", func(st *slacktest.State) bool {
				for _, m := range st.Ephemerals(releaseChannel, bob) {
					said = append(said, m.Text)
				}
				return true
			})
			t.Fatalf("the second approval never counted; bob was told:\n%s", strings.Join(said, "\n"))
		}
		if b.threadCount(msg.TS, "The release is approved") > 0 {
			approvedAt = time.Now()
			break
		}
		b.click(bob, msg.TS, "release_approve")
		time.Sleep(300 * time.Millisecond)
	}
	t.Logf("a click costs %v from the SIGKILL to the approval announced", approvedAt.Sub(killed).Round(100*time.Millisecond))
	b.assertShippedOnce(msg, ha.client(t), []string{bob, carol})
}

// startHA runs the first of the bots (replica r1) of the high-availability
// tests on REDIS_URL url: the ship pipeline with two approvers, carol and bob.
func startHA(t *testing.T, url string) *shipBot {
	t.Helper()
	cfg, err := config.Parse("ship.yaml", []byte(strings.NewReplacer(
		"TIMEOUT", "2h", "evidence: { control: release-approved, timeout: 3s }", "evidence: { control: release-approved, timeout: 30s }",
		`required: 1, approvers: ["U0CAROL0001"]`, `required: 2, approvers: ["U0CAROL0001", "U0BOB000001"]`,
	).Replace(shipConfig)))
	if err != nil {
		t.Fatal(err)
	}
	return startShip(t, "2", githubtest.Workflow{}, shipSetup{}, replica("r1"), func(o *serveOptions) {
		o.Config = cfg
		o.Env.RedisURL = secret.New(url)
	})
}

// assertShippedOnce waits for the release of msg to succeed, then checks
// that every artifact got exactly one thread reply, each announcement was
// posted once, the workflow was dispatched once, and the store (read through
// rdb) holds the approvals of approvers and one dispatch claim.
func (b *shipBot) assertShippedOnce(msg slacktest.Message, rdb redis.UniversalClient, approvers []string) {
	t := b.t
	t.Helper()
	// The run ends, with one reply per artifact: the evidence outbox picks
	// up where a dead master left it (its lease lapses within 15s).
	b.threadHas(msg.TS, "Release succeeded")
	for _, service := range []string{"*nginx*", "*web*"} {
		if n := b.threadCount(msg.TS, ":white_check_mark: "+service); n != 1 {
			t.Errorf("%s: %d replies, want 1", service, n)
		}
	}
	for want, n := range map[string]int{"approved (1 of 2)": 1, "The release is approved": 1} {
		if got := b.threadCount(msg.TS, want); got != n {
			t.Errorf("%q: %d thread replies, want %d", want, got, n)
		}
	}
	if n := len(b.gh.RequestsTo(githubtest.RouteDispatch)); n != 1 {
		t.Errorf("%d dispatches, want 1", n)
	}
	r, err := store.New(rdb, store.Options{}).Get(context.Background(), releaseID(msg))
	if err != nil {
		t.Fatal(err)
	}
	var by []string
	for _, a := range r.Approvals {
		by = append(by, a.UserID)
	}
	if slices.Sort(by); !slices.Equal(by, slices.Sorted(slices.Values(approvers))) {
		t.Errorf("approvals %v, want %v", by, approvers)
	}
	claims := 0
	for _, h := range r.History {
		if h.To == release.Dispatching {
			claims++
		}
	}
	if claims != 1 {
		t.Errorf("history %v: %d dispatch claims, want 1", states(r.History), claims)
	}
}

func states(h []release.Transition) []string {
	out := make([]string, len(h))
	for i, tr := range h {
		out[i] = string(tr.From) + "→" + string(tr.To)
	}
	return out
}
