package fakekit_test

import (
	"sync"
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/fakekit"
)

type route string

const (
	routeA   route = "a"
	routeB   route = "b"
	anyRoute route = "*"
)

type request struct {
	route  route
	n      int
	status int
}

func newKit(a fakekit.Answer) *fakekit.Kit[route, request] {
	return fakekit.New(fakekit.Options[route, request]{
		AnyRoute: anyRoute, RouteOf: func(q request) route { return q.route }, Answer: a,
	})
}

func TestScriptsAreConsumedInOrderPerRouteThenAnyRoute(t *testing.T) {
	k := newKit(fakekit.Answer{})
	k.FailNext(routeA, 2, 503)
	k.Script(anyRoute, fakekit.Response{Status: 429})
	k.Script(routeA, fakekit.Response{Status: 418})
	k.Script(routeB, fakekit.Response{Status: 400})
	if k.Pending(routeA) != 3 || k.Pending(anyRoute) != 1 {
		t.Fatalf("pending a=%d any=%d", k.Pending(routeA), k.Pending(anyRoute))
	}
	var got []int
	for range 5 {
		_, r, ok := k.Receive(routeA, request{route: routeA})
		if !ok {
			r.Status = -1
		}
		got = append(got, r.Status)
	}
	want := []int{503, 503, 418, 429, -1}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("statuses %v, want %v", got, want)
		}
	}
	if k.Pending(routeB) != 1 {
		t.Error("another route's script was taken")
	}
	if _, r, _ := k.Receive(routeB, request{route: routeB}); r.Status != 400 {
		t.Errorf("route b got %+v", r)
	}
}

func TestRequestsAreRecordedInOrderAndAmended(t *testing.T) {
	k := newKit(fakekit.Answer{})
	if k.Requests() != nil || k.RequestsTo(routeA) != nil {
		t.Fatal("a new kit has requests")
	}
	for n, r := range []route{routeA, routeB, routeA} {
		if i, _, _ := k.Receive(r, request{route: r, n: n}); i != n {
			t.Fatalf("index %d, want %d", i, n)
		}
	}
	k.Amend(1, func(q *request) { q.status = 304 })
	all := k.Requests()
	if len(all) != 3 || all[0].n != 0 || all[1].status != 304 || all[2].n != 2 {
		t.Errorf("Requests = %+v", all)
	}
	all[0].n = 99 // a copy
	to := k.RequestsTo(routeA)
	if len(to) != 2 || to[0].n != 0 || to[1].n != 2 {
		t.Errorf("RequestsTo = %+v", to)
	}
	if k.URL() != "" {
		t.Errorf("URL before Listen = %q", k.URL())
	}
}

func TestTheKitIsSafeForConcurrentUse(t *testing.T) {
	k := newKit(fakekit.Answer{})
	k.FailNext(routeA, 8, 500)
	var wg sync.WaitGroup
	for n := range 8 {
		wg.Go(func() {
			i, _, scripted := k.Receive(routeA, request{route: routeA, n: n})
			k.Amend(i, func(q *request) { q.status = map[bool]int{true: 500}[scripted] })
			_ = k.Requests()
			_ = k.Pending(routeA)
		})
	}
	wg.Wait()
	for _, q := range k.Requests() {
		if q.status != 500 {
			t.Errorf("%+v: not scripted, or not amended", q)
		}
	}
	if k.Pending(routeA) != 0 {
		t.Error("scripts left over")
	}
}

func TestLatencyDelaysEveryAnswerScriptedOrNot(t *testing.T) {
	k := newKit(fakekit.Answer{})
	k.SetLatency(150 * time.Millisecond)
	k.Script(routeA, fakekit.Response{Status: 503, Delay: time.Second})
	if _, r, ok := k.Receive(routeA, request{route: routeA}); !ok || r.Status != 503 || r.Delay != 1150*time.Millisecond {
		t.Errorf("scripted: %+v %v, want its 503 after 1.15s", r, ok)
	}
	if _, r, ok := k.Receive(routeA, request{route: routeA}); !ok || !r.PassThrough || r.Delay != 150*time.Millisecond {
		t.Errorf("unscripted: %+v %v, want a pass-through after 150ms", r, ok)
	}
	k.SetLatency(0)
	if _, r, ok := k.Receive(routeA, request{route: routeA}); ok {
		t.Errorf("latency off: %+v scripted", r)
	}
}
