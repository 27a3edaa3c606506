// Package redistest runs a real redis-server for integration tests. It never
// skips: a machine without redis-server fails the test with what to install,
// because a store test that silently does not run proves nothing.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// URLEnv names a Redis to use instead of starting one, for CI that runs its
// own. Tests sharing it must namespace their keys: see Prefix.
const URLEnv = "RELEASE_BOT_TEST_REDIS_URL"

// How long to wait for redis-server to answer, and to stop.
const (
	startTimeout = 15 * time.Second
	stopTimeout  = 10 * time.Second
)

// Start returns a client of a Redis for t: the one at $RELEASE_BOT_TEST_REDIS_URL
// when set, otherwise a fresh redis-server without persistence that is killed
// when t ends. The client's pool has room for at least 64 connections.
func Start(t testing.TB) *redis.Client {
	t.Helper()
	if url := os.Getenv(URLEnv); url != "" {
		opts, err := redis.ParseURL(url)
		if err != nil {
			t.Fatalf("redistest: %s: %v", URLEnv, err)
		}
		opts.PoolSize = max(opts.PoolSize, 64)
		c := redis.NewClient(opts)
		t.Cleanup(func() { c.Close() })
		if err := c.Ping(context.Background()).Err(); err != nil {
			t.Fatalf("redistest: %s does not answer: %v", URLEnv, err)
		}
		return c
	}
	return launch(t, false).Client(t)
}

// Server is a redis-server process owned by one test.
type Server struct {
	bin, dir string
	port     int
	args     []string
	cmd      *exec.Cmd
	done     chan struct{}
}

// StartServer launches a redis-server with an append-only file, so that its
// data survives Restart. It is stopped when t ends. It ignores $RELEASE_BOT_TEST_REDIS_URL:
// restarting is only possible for a server the test owns.
func StartServer(t testing.TB) *Server { return launch(t, true) }

// Addr is the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Client returns a new client of the server, closed when t ends. go-redis
// reconnects by itself across a Restart.
func (s *Server) Client(t testing.TB) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr(), PoolSize: max(64, 10*runtime.GOMAXPROCS(0))})
	t.Cleanup(func() { c.Close() })
	return c
}

// Restart stops the server cleanly (flushing its append-only file) and
// starts it again on the same port with the same data.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	if err := s.stop(); err != nil {
		t.Fatalf("redistest: stop for restart: %v", err)
	}
	if err := s.start(); err != nil {
		t.Fatalf("redistest: restart: %v", err)
	}
}

// Stop stops the server cleanly, keeping its data for Start: a test of what
// happens while Redis is away.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	if err := s.stop(); err != nil {
		t.Fatalf("redistest: stop: %v", err)
	}
}

// Start starts a stopped server again on the same port with the same data.
func (s *Server) Start(t testing.TB) {
	t.Helper()
	if err := s.start(); err != nil {
		t.Fatalf("redistest: start: %v", err)
	}
}

func launch(t testing.TB, persistent bool) *Server {
	t.Helper()
	appendonly := "no"
	if persistent {
		appendonly = "yes"
	}
	return launchWith(t, func(s *Server) []string { return serverArgs(s, appendonly) })
}

// launchWith starts a redis-server with the arguments args gives for the
// server's port and directory, stopped when t ends.
func launchWith(t testing.TB, args func(*Server) []string) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("redistest: redis-server not found on PATH: install redis-server (apt-get install -y redis-server)")
	}
	s := &Server{bin: bin, dir: t.TempDir()}
	// A free port can be taken between choosing it and redis binding it;
	// choose again a few times.
	for attempt := 0; ; attempt++ {
		if s.port, err = freePort(); err == nil {
			s.args = args(s)
			if err = s.start(); err == nil {
				break
			}
		}
		if attempt == 2 {
			t.Fatalf("redistest: %v", err)
		}
	}
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("redistest: %v", err)
		}
	})
	return s
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) start() error {
	cmd := exec.Command(s.bin, s.args...)
	cmd.Dir = s.dir
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	s.cmd, s.done = cmd, done

	deadline := time.Now().Add(startTimeout)
	for {
		err := ping(s.Addr())
		if err == nil {
			return nil
		}
		select {
		case <-done:
			return errors.New("redis-server exited at start: " + s.log())
		default:
		}
		if time.Now().After(deadline) {
			s.stop()
			return errors.New("redis-server did not answer PING: " + err.Error() + ": " + s.log())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ping speaks RESP by hand: a go-redis client would log every refused dial
// while the server starts.
func ping(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	buf := make([]byte, 64)
	n, err := conn.Read(buf)
	if err != nil {
		return err
	}
	// A server with a password answers, refusing: it is up.
	if got := string(buf[:n]); got != "+PONG\r\n" && !strings.HasPrefix(got, "-NOAUTH") {
		return errors.New("PING answered " + strings.TrimSpace(got))
	}
	return nil
}

// stop asks redis to shut down (SIGTERM: it flushes the append-only file)
// and kills it if it does not within stopTimeout.
func (s *Server) stop() error {
	if s.cmd == nil {
		return nil
	}
	defer func() { s.cmd = nil }()
	select {
	case <-s.done:
		return nil
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		return nil
	case <-time.After(stopTimeout):
		s.cmd.Process.Kill()
		<-s.done
		return errors.New("redis-server ignored SIGTERM and was killed")
	}
}

func (s *Server) log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-5):], " | ")
}

// Prefix returns a key prefix unique to t, so that tests can share one Redis
// (such as $RELEASE_BOT_TEST_REDIS_URL) without seeing each other's keys.
func Prefix(t testing.TB) string {
	var b [4]byte
	rand.Read(b[:])
	name := strings.NewReplacer("/", ".", " ", "_", ":", ".").Replace(t.Name())
	return "rbtest:" + name + ":" + hex.EncodeToString(b[:]) + ":"
}
