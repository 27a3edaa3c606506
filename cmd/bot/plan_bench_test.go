package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/release/releasetest"
)

// BenchmarkPlanProcess runs `bot plan --diff-file` as a whole process on
// generated 5,000-service diffs, indented like Kosli's output: process
// start, read, decode, plan and write. "typical" (3.7 MB) has a third of the
// services changed and one in twenty new; "all-changed" (5.6 MB) promotes
// every service. The bar is well under 50 ms.
//
// With REFERENCE_PROMOTIONS_PY naming cyber-dojo's promotions.py, the same
// inputs are also run through it (python3 FILE < diff), and "ratio" runs the
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
	ref := os.Getenv("REFERENCE_PROMOTIONS_PY")
	refDir := filepath.Join(dir, "reference") // it writes all-annotations.txt there
	if err := os.Mkdir(refDir, 0o700); err != nil {
		b.Fatal(err)
	}
	for _, input := range []struct {
		name string
		diff *release.Diff
	}{
		{"typical", releasetest.GenerateDiff(5000)},
		{"all-changed", releasetest.GenerateChangedDiff(5000)},
	} {
		data, err := json.MarshalIndent(input.diff, "", "    ")
		if err != nil {
			b.Fatal(err)
		}
		diff := filepath.Join(dir, input.name+".json")
		if err := os.WriteFile(diff, data, 0o600); err != nil {
			b.Fatal(err)
		}
		// Each writes its answer to a file, as a workflow step that saves
		// the matrix does: the time is the process's own, not the time this
		// test takes to collect megabytes from a pipe.
		botOut, refOut := filepath.Join(dir, "bot.json"), filepath.Join(dir, "reference.json")
		runBot := func(b *testing.B) time.Duration {
			return runTo(b, exec.Command(bin, "plan", "--org", "cyber-dojo", "--output", "matrix", "--diff-file", diff), "", botOut)
		}
		runRef := func(b *testing.B) time.Duration {
			cmd := exec.Command("python3", ref)
			cmd.Dir = refDir
			return runTo(b, cmd, diff, refOut)
		}
		b.Run(input.name+"/bot", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				runBot(b)
			}
		})
		if ref == "" {
			continue
		}
		runBot(b)
		runRef(b)
		if got, want := readFile(b, botOut), readFile(b, refOut); got != want {
			b.Fatalf("%s: bot plan and the reference differ (%d and %d bytes)", input.name, len(got), len(want))
		}
		b.Run(input.name+"/reference", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				runRef(b)
			}
		})
		// Both, one after the other in each round, so that both see the
		// same machine: the ratio of their total times is "times faster".
		b.Run(input.name+"/ratio", func(b *testing.B) {
			var bot, reference time.Duration
			for b.Loop() {
				bot += runBot(b)
				reference += runRef(b)
			}
			b.ReportMetric(float64(bot.Microseconds())/1e3/float64(b.N), "bot-ms/op")
			b.ReportMetric(float64(reference.Microseconds())/1e3/float64(b.N), "reference-ms/op")
			b.ReportMetric(float64(reference)/float64(bot), "times-faster")
		})
	}
}

// runTo runs cmd with stdin from the file in (if any) and stdout to the file
// out, and fails unless it succeeds and writes something. Standard error goes
// to a file too: a pipe would add a goroutine of this process to the timing.
// Emptying out (the last run's megabytes) is the test's work, not the
// process's, so it is done with the timer stopped; it returns how long the
// process ran.
func runTo(b *testing.B, cmd *exec.Cmd, in, out string) time.Duration {
	b.Helper()
	b.StopTimer()
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
	b.StartTimer()
	start := time.Now()
	err = cmd.Run()
	took := time.Since(start)
	if err != nil {
		b.Fatalf("%s: %v\n%s", cmd.Path, err, readFile(b, out+".stderr"))
	}
	if st, err := stdout.Stat(); err != nil || st.Size() == 0 {
		b.Fatalf("%s wrote nothing", cmd.Path)
	}
	return took
}

func readFile(b *testing.B, name string) string {
	b.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		b.Fatal(err)
	}
	return string(data)
}
