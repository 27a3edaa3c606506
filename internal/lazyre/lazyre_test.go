package lazyre

import (
	"sync"
	"testing"
)

func TestCompiledOnFirstUseOnce(t *testing.T) {
	r := New(`^a([0-9]+)$`)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if !r.MatchString("a12") || r.MatchString("b12") {
				t.Error("MatchString is wrong")
			}
		})
	}
	wg.Wait()
	if got := r.FindStringSubmatch("a42"); len(got) != 2 || got[1] != "42" {
		t.Errorf("FindStringSubmatch = %q", got)
	}
	if first, again := r.Regexp(), r.Regexp(); first != again {
		t.Error("compiled more than once")
	}
	if r.String() != `^a([0-9]+)$` {
		t.Errorf("String = %q", r.String())
	}
}

func TestBadExpressionPanicsOnFirstUse(t *testing.T) {
	r := New(`(`) // no panic here
	defer func() {
		if recover() == nil {
			t.Error("a bad expression did not panic when used")
		}
	}()
	r.MatchString("x")
}
