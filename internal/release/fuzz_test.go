package release_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/release-bot/release-bot/internal/release"
	"github.com/release-bot/release-bot/internal/release/releasetest"
)

// FuzzParseDiff: any input either decodes into a diff the planner can handle
// or is refused with ErrMalformedDiff; never a panic.
func FuzzParseDiff(f *testing.F) {
	files, _ := filepath.Glob("../../testdata/cyber-dojo-promotions/diff-snapshots/*.json")
	for _, name := range files {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(`{"snappish1":{"snapshot_id":"a","artifacts":[{"fingerprint":"x","flow":null,"commit_url":null,"most_recent_timestamp":1.5}]},"snappish2":{"snapshot_id":"b","artifacts":[]},"changed":{"artifacts":[]},"not-changed":{"artifacts":[]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := release.ParseDiff(data)
		if err != nil {
			if !strings.Contains(err.Error(), "malformed environment diff") {
				t.Fatalf("error without the sentinel: %v", err)
			}
			return
		}
		p := release.Compute(&d, release.PlanOptions{Links: release.Links{Host: "https://h", Org: "o"}})
		_ = release.AppendMatrix(nil, p.Promotions, true)
		if out := release.AppendMatrix(nil, p.Promotions, false); !json.Valid(out) {
			t.Fatalf("matrix is not JSON: %s", out)
		}
		for _, b := range p.Blockers {
			_ = b.Lines()
		}
	})
}

// FuzzParseCommitURL: any string parses without panicking, and what it
// yields is consistent (a repo URL is a prefix of the input, a sha is in it).
func FuzzParseCommitURL(f *testing.F) {
	for _, s := range []string{
		"https://github.com/cyber-dojo/saver/commit/6e191a0a86cf3d264955c4910bc3b9df518c4bcd",
		"https://gitlab.com/cyber-dojo/creator/-/commit/63739c64c04437b29e3fe082d699fb757846e0f0",
		"https://bitbucket.org/o/r/commits/63739c64c04437b29e3fe082d699fb757846e0f0",
		"", "https://", "commit/", "/-/commit/abcdef0",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := release.ParseCommitURL(s)
		if c.RepoURL != "" && !strings.HasPrefix(strings.TrimSpace(s), c.RepoURL) {
			t.Fatalf("repo %q is not a prefix of %q", c.RepoURL, s)
		}
		if c.SHA != "" && !strings.Contains(s, c.SHA) {
			t.Fatalf("sha %q not in %q", c.SHA, s)
		}
		_ = c.Link()
		_ = c.RawSnykPolicyURL()
		_ = release.CompareURL(c, c)
	})
}

// TestMatrixEscapesLikePython checks the string quoting against what
// Python's json.dumps(ensure_ascii=True) prints for the same values.
func TestMatrixEscapesLikePython(t *testing.T) {
	p := []release.Promotion{{Incoming: release.ArtifactInfo{SnapshotID: "é\"\\\n\x01\x7f😀<>&/"}}}
	got := string(release.AppendMatrix(nil, p, false))
	want := `"incoming_snapshot_id":"\u00e9\"\\\n\u0001\u007f\ud83d\ude00<>&/"`
	if !strings.Contains(got, want) {
		t.Fatalf("got %s\nwant it to contain %s", got, want)
	}
}

func TestWriteMatrixIsAppendMatrix(t *testing.T) {
	for _, n := range []int{0, 1, 7, 300, 2000} {
		d := releasetest.GenerateDiff(n)
		p := release.Compute(d, release.PlanOptions{Links: release.Links{Host: "https://h", Org: "o"}})
		var buf strings.Builder
		if err := release.WriteMatrix(&buf, p.Promotions); err != nil {
			t.Fatal(err)
		}
		if want := string(release.AppendMatrix(nil, p.Promotions, true)) + "\n"; buf.String() != want {
			t.Fatalf("%d services: WriteMatrix differs from AppendMatrix", n)
		}
	}
}

// failingWriter fails its second write.
type failingWriter struct{ writes int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.writes++; w.writes > 1 {
		return 0, errors.New("broken pipe")
	}
	return len(p), nil
}

func TestWriteMatrixStopsAtAWriteError(t *testing.T) {
	p := release.Compute(releasetest.GenerateDiff(2000), release.PlanOptions{})
	w := &failingWriter{}
	if err := release.WriteMatrix(w, p.Promotions); err == nil || err.Error() != "broken pipe" || w.writes != 2 {
		t.Fatalf("err %v after %d writes, want broken pipe after 2", err, w.writes)
	}
}
