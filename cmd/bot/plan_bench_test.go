package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/release-bot/release-bot/internal/release/releasetest"
)

// BenchmarkPlanProcess runs `bot plan --diff-file` as a whole process on a
// generated 5,000-service diff (about 4 MB, indented like Kosli's output):
// process start, read, decode, plan and write. The bar is well under 50 ms.
//
// With REFERENCE_PROMOTIONS_PY naming cyber-dojo's promotions.py, the same
// input is also timed through it (python3 FILE < diff), for the 8× comparison.
func BenchmarkPlanProcess(b *testing.B) {
	dir := b.TempDir()
	bin := filepath.Join(dir, "bot")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, ".")
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
	b.Run("bot", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			cmd := exec.Command(bin, "plan", "--org", "cyber-dojo", "--output", "matrix", "--diff-file", diff)
			var out bytes.Buffer
			cmd.Stdout = &out
			if err := cmd.Run(); err != nil || out.Len() == 0 {
				b.Fatalf("bot plan: %v", err)
			}
		}
	})
	if ref := os.Getenv("REFERENCE_PROMOTIONS_PY"); ref != "" {
		b.Run("reference", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				in, err := os.Open(diff)
				if err != nil {
					b.Fatal(err)
				}
				cmd := exec.Command("python3", ref)
				cmd.Dir = b.TempDir()
				cmd.Stdin = in
				var out bytes.Buffer
				cmd.Stdout = &out
				err = cmd.Run()
				in.Close()
				if err != nil || out.Len() == 0 {
					b.Fatalf("reference: %v", err)
				}
			}
		})
	}
}
