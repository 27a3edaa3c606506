package ops_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/release-bot/release-bot/internal/ops"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestHealthReadinessMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "releasebot_test_total", Help: "a test counter"})
	reg.MustRegister(c)
	c.Inc()
	var redisDown atomic.Bool
	srv, err := ops.New(ops.Options{Listen: "127.0.0.1:0", Registry: reg, Ready: map[string]ops.Check{
		"socket": func(context.Context) error { return nil },
		"redis": func(context.Context) error {
			if redisDown.Load() {
				return errors.New("dial tcp: connection refused")
			}
			return nil
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	base := "http://" + srv.Addr()

	if code, body := get(t, base+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	if code, _ := get(t, base+"/readyz"); code != 200 {
		t.Errorf("/readyz = %d with every check passing", code)
	}
	redisDown.Store(true)
	code, body := get(t, base+"/readyz")
	var doc struct {
		Ready  bool              `json:"ready"`
		Checks map[string]string `json:"checks"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	if code != 503 || doc.Ready || doc.Checks["socket"] != "ok" || !strings.Contains(doc.Checks["redis"], "refused") {
		t.Errorf("/readyz = %d %s", code, body)
	}
	if code, body := get(t, base+"/metrics"); code != 200 || !strings.Contains(body, "releasebot_test_total 1") {
		t.Errorf("/metrics = %d", code)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run after shutdown: %v", err)
	}
}

func TestListenErrorAtStart(t *testing.T) {
	if _, err := ops.New(ops.Options{Listen: "256.0.0.1:99999"}); err == nil {
		t.Fatal("a bad address was accepted")
	}
}
