package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/release/releasetest"
)

// BenchmarkPlanProcess runs `bot plan --diff-file` as a whole process on a
// generated 5,000-service diff (about 4 MB, indented like Kosli's output):
// process start, read, decode, plan and write. The bar is well under 50 ms.
//
// With REFERENCE_PROMOTIONS_PY naming cyber-dojo's promotions.py, the same
// input is also timed through it (python3 FILE < diff), and "ratio" runs the
// two in turns and reports how many times faster the bot is (the bar is 8).
func BenchmarkPlanProcess(b *testing.B) {
	dir := b.TempDir()
	bin := filepath.Join(dir, "bot")
	// Built as the Dockerfile and scripts/build-static.sh build it: static,
	// so no dynamic loader runs before main (about 0.8 ms here).
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	data, err := json.MarshalIndent(releasetest.GenerateDiff(5000), "", "    ")
	if err != nil {
		b.Fatal(err)
	}
	diff := filepath.Join(dir, "diff.json")
	if err := os.WriteFile(diff, data, 0o600); err != nil {
		b.Fatal(err)
	}
	// Each writes its answer to a file, as a workflow step that saves the
	// matrix does: the time is the process's own, not the time this test
	// takes to collect megabytes from a pipe.
	botOut, refOut := filepath.Join(dir, "bot.json"), filepath.Join(dir, "reference.json")
	runBot := func(b *testing.B) {
		runTo(b, exec.Command(bin, "plan", "--org", "cyber-dojo", "--output", "matrix", "--diff-file", diff), "", botOut)
	}
	b.Run("bot", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			runBot(b)
		}
	})
	ref := os.Getenv("REFERENCE_PROMOTIONS_PY")
	if ref == "" {
		return
	}
	refDir := filepath.Join(dir, "reference") // it writes all-annotations.txt there
	if err := os.Mkdir(refDir, 0o700); err != nil {
		b.Fatal(err)
	}
	runRef := func(b *testing.B) {
		cmd := exec.Command("python3", ref)
		cmd.Dir = refDir
		runTo(b, cmd, diff, refOut)
	}
	runBot(b)
	runRef(b)
	if got, want := readFile(b, botOut), readFile(b, refOut); got != want {
		b.Fatalf("bot plan and the reference differ on the benchmark diff (%d and %d bytes)", len(got), len(want))
	}
	b.Run("reference", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			runRef(b)
		}
	})
	// Both, one after the other in each round, so that both see the same
	// machine: the ratio of their total times is the "times faster" figure.
	b.Run("ratio", func(b *testing.B) {
		var bot, reference time.Duration
		for b.Loop() {
			start := time.Now()
			runBot(b)
			mid := time.Now()
			runRef(b)
			bot += mid.Sub(start)
			reference += time.Since(mid)
		}
		b.ReportMetric(float64(bot.Microseconds())/1e3/float64(b.N), "bot-ms/op")
		b.ReportMetric(float64(reference.Microseconds())/1e3/float64(b.N), "reference-ms/op")
		b.ReportMetric(float64(reference)/float64(bot), "times-faster")
	})
}

// runTo runs cmd with stdin from the file in (if any) and stdout to the file
// out, and fails unless it succeeds and writes something. Standard error goes
// to a file too: a pipe would add a goroutine of this process to the timing.
func runTo(b *testing.B, cmd *exec.Cmd, in, out string) {
	b.Helper()
	if in != "" {
		f, err := os.Open(in)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		cmd.Stdin = f
	}
	stdout, err := os.Create(out)
	if err != nil {
		b.Fatal(err)
	}
	defer stdout.Close()
	stderr, err := os.Create(out + ".stderr")
	if err != nil {
		b.Fatal(err)
	}
	defer stderr.Close()
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s: %v\n%s", cmd.Path, err, readFile(b, out+".stderr"))
	}
	if st, err := stdout.Stat(); err != nil || st.Size() == 0 {
		b.Fatalf("%s wrote nothing", cmd.Path)
	}
}

func readFile(b *testing.B, name string) string {
	b.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		b.Fatal(err)
	}
	return string(data)
}
