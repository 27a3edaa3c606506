package remote

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNotSent(t *testing.T) {
	dial := &url.Error{Op: "Get", URL: "http://x", Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}}
	read := &url.Error{Op: "Get", URL: "http://x", Err: &net.OpError{Op: "read", Err: errors.New("connection reset")}}
	if !NotSent(dial) || NotSent(read) || NotSent(errors.New("x")) {
		t.Error("NotSent must be true for a dial error only")
	}
}

func TestTimedOut(t *testing.T) {
	for err, want := range map[error]bool{
		fmt.Errorf("attempt: %w", context.DeadlineExceeded):                 true,
		&url.Error{Op: "Get", URL: "http://x", Err: os.ErrDeadlineExceeded}: true,
		&url.Error{Op: "Get", URL: "http://x", Err: errors.New("refused")}:  false,
		context.Canceled: false,
	} {
		if got := TimedOut(err); got != want {
			t.Errorf("TimedOut(%v) = %v, want %v", err, got, want)
		}
	}
}

func TestCause(t *testing.T) {
	err := &url.Error{Op: "Get", URL: "http://kosli.test/api/v2/x", Err: errors.New("connection refused")}
	if got := Cause(err); got != "connection refused" {
		t.Errorf("Cause = %q", got)
	}
	if got := Cause(errors.New("plain")); got != "plain" {
		t.Errorf("Cause = %q", got)
	}
}

func TestOneLineAndClip(t *testing.T) {
	if got := OneLine(" a\n\tb   c \r\n"); got != "a b c" {
		t.Errorf("OneLine = %q", got)
	}
	if s := strings.Repeat("x", MaxMessage); Clip(s) != s {
		t.Error("a message of MaxMessage bytes was cut")
	}
	long := strings.Repeat("x", MaxMessage-1) + "éé"
	got := Clip(long)
	if !strings.HasSuffix(got, "…") || !utf8.ValidString(got) || len(got) > MaxMessage+len("…") {
		t.Errorf("Clip = %q: want a cut at a character boundary, marked", got)
	}
	if strings.TrimSuffix(got, "…") != strings.Repeat("x", MaxMessage-1) {
		t.Errorf("Clip cut in the wrong place: %q", got)
	}
}

func TestClipToCutsAtACharacterBoundary(t *testing.T) {
	s := strings.Repeat("a", 199) + "é" // é is two bytes: byte 200 is inside it
	if got := ClipTo(s, 200); got != strings.Repeat("a", 199)+"…" {
		t.Errorf("ClipTo = %q", got)
	}
	if got := ClipTo("short", 200); got != "short" {
		t.Errorf("ClipTo of a short string = %q", got)
	}
}
