package mapfile

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func writeFile(t *testing.T, content string) *os.File {
	t.Helper()
	name := filepath.Join(t.TempDir(), "diff.json")
	if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestReadStringRegularFile(t *testing.T) {
	content := strings.Repeat(`{"flow": "saver-ci"}`+"\n", 1000)
	f := writeFile(t, content)
	got, err := ReadString(f)
	if err != nil || got != content {
		t.Fatalf("ReadString = %d bytes, %v; want %d bytes", len(got), err, len(content))
	}
	if runtime.GOOS == "linux" {
		if _, mapped := mapString(f, len(content)); !mapped {
			t.Error("a regular file was not mapped")
		}
	}
}

func TestReadStringEmptyFile(t *testing.T) {
	got, err := ReadString(writeFile(t, ""))
	if err != nil || got != "" {
		t.Fatalf("ReadString = %q, %v", got, err)
	}
}

func TestReadStringPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	content := strings.Repeat("x", 200_000) // more than a pipe holds
	go func() {
		_, _ = w.WriteString(content)
		w.Close()
	}()
	got, err := ReadString(r)
	if err != nil || got != content {
		t.Fatalf("ReadString = %d bytes, %v", len(got), err)
	}
}

func TestReadStringDirectory(t *testing.T) {
	d, err := os.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := ReadString(d); err == nil || err.Error() != "is a directory" {
		t.Fatalf("err = %v", err)
	}
}

// TestGuardFileShrank: a mapped file truncated while in use is an error,
// not a SIGBUS that kills the process.
func TestGuardFileShrank(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("files are mapped on Linux only")
	}
	f := writeFile(t, strings.Repeat("a", 64<<10))
	s, err := ReadString(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(f.Name(), 0); err != nil {
		t.Fatal(err)
	}
	var last byte
	err = Guard(func() error {
		last = s[len(s)-1]
		return nil
	})
	if !errors.Is(err, ErrShrank) {
		t.Fatalf("Guard = %v (read %q), want ErrShrank", err, last)
	}
}

func TestGuardPassesOn(t *testing.T) {
	want := errors.New("bad diff")
	if err := Guard(func() error { return want }); err != want {
		t.Errorf("Guard = %v, want fn's error", err)
	}
	defer func() {
		if r := recover(); r != "boom" {
			t.Errorf("recovered %v, want the panic passed on", r)
		}
	}()
	_ = Guard(func() error { panic("boom") })
}
