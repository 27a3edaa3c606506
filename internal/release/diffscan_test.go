package release

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// parseDiffStd is the diff decoder written with encoding/json: the oracle the
// fast scanner must agree with.
func parseDiffStd(data []byte) (Diff, error) {
	type rawSide struct {
		SnapshotID *string     `json:"snapshot_id"`
		Artifacts  *[]Artifact `json:"artifacts"`
	}
	type rawGroup struct {
		Artifacts *[]Artifact `json:"artifacts"`
	}
	var probe struct {
		Source     *rawSide  `json:"snappish1"`
		Target     *rawSide  `json:"snappish2"`
		Changed    *rawGroup `json:"changed"`
		NotChanged *rawGroup `json:"not-changed"`
	}
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return Diff{}, ErrMalformedDiff
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return Diff{}, err
	}
	if probe.Source == nil || probe.Target == nil || probe.Changed == nil || probe.NotChanged == nil ||
		probe.Source.SnapshotID == nil || probe.Target.SnapshotID == nil ||
		probe.Source.Artifacts == nil || probe.Target.Artifacts == nil ||
		probe.Changed.Artifacts == nil || probe.NotChanged.Artifacts == nil {
		return Diff{}, ErrMalformedDiff
	}
	d := Diff{
		Source:     Side{SnapshotID: *probe.Source.SnapshotID, Artifacts: *probe.Source.Artifacts},
		Target:     Side{SnapshotID: *probe.Target.SnapshotID, Artifacts: *probe.Target.Artifacts},
		Changed:    Group{Artifacts: *probe.Changed.Artifacts},
		NotChanged: Group{Artifacts: *probe.NotChanged.Artifacts},
	}
	return d, d.validate()
}

func agree(t *testing.T, data []byte) {
	t.Helper()
	fast, ferr := ParseDiff(data)
	std, serr := parseDiffStd(data)
	if (ferr == nil) != (serr == nil) {
		t.Fatalf("fast error %v, encoding/json error %v, for %q", ferr, serr, data)
	}
	if ferr == nil && !reflect.DeepEqual(normalise(fast), normalise(std)) {
		t.Fatalf("decoded differently:\nfast %+v\nstd  %+v\ninput %q", fast, std, data)
	}
}

// normalise makes empty and nil slices compare equal; the decoders may differ there.
func normalise(d Diff) Diff {
	for _, l := range []*[]Artifact{&d.Source.Artifacts, &d.Target.Artifacts, &d.Changed.Artifacts, &d.NotChanged.Artifacts} {
		if len(*l) == 0 {
			*l = nil
		}
	}
	return d
}

func TestScannerAgreesWithEncodingJSON(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/cyber-dojo-promotions/diff-snapshots/*.json")
	if len(files) == 0 {
		t.Fatal("no fixtures")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		agree(t, data)
	}
	const ok = `"snappish2":{"snapshot_id":"b","artifacts":[]},"changed":{"artifacts":[]},"not-changed":{"artifacts":[]}}`
	for _, in := range []string{
		`{"snappish1":{"snapshot_id":"a","artifacts":[{"fingerprint":"x","FLOW":"f","Commit_Url":"c"}]},` + ok,
		`{"snappish1":{"snapshot_id":"a\u00e9\ud83d\ude00\ud800x","artifacts":[{"fingerprint":"x\xff\xfe"}]},` + ok,
		`{"snappish1":{"snapshot_id":"a","artifacts":[{"fingerprint":"x","instance_count":1.5}]},` + ok,
		`{"snappish1":{"snapshot_id":"a","artifacts":[{"fingerprint":"x","instance_count":99999999999999999999}]},` + ok,
		`{"snappish1":{"snapshot_id":"a","artifacts":[{"fingerprint":"x","most_recent_timestamp":"1"}]},` + ok,
		`{"snappish1":{"snapshot_id":"a","artifacts":[{"fingerprint":"x","most_recent_timestamp":1e400}]},` + ok,
		`{"snappish1":{"snapshot_id":"a","artifacts":[{"fingerprint":"x","flow":"a"}],"artifacts":[{"fingerprint":"y"}]},` + ok,
		`{"snappish1":{"snapshot_id":"a","artifacts":[{"fingerprint":"x"},null]},` + ok,
		`{"snappish1":null,"snappish1":{"snapshot_id":"a","artifacts":[]},` + ok,
		`{"snappish1":{"snapshot_id":"a"},"snappish1":{"artifacts":[]},` + ok,
		`{"snappish1":{"snapshot_id":"a","artifacts":[],"pods":{"x":[1,2,{"y":null}]}},` + ok,
		`{"snappish1":{"snapshot_id":"a","artifacts":[]},` + ok + ` x`,
		`{"snappish1":{"snapshot_id":"a","artifacts":[]},` + ok[:len(ok)-1],
		`{"snappish1":{"snapshot_id":"a\u0001","artifacts":[]},` + ok,
		"{\"snappish1\":{\"snapshot_id\":\"a\x01\",\"artifacts\":[]}," + ok,
		`{"snappish1":{"snapshot_id":"a","artifacts":[{"fingerprint":"x","instance_count":-0}]},` + ok,
		`{"snappish1":{"snapshot_id":"a","artifacts":[{"fingerprint":"x","instance_count":01}]},` + ok,
		`{"snappish1":[],` + ok,
		`{"snappish1":{"snapshot_id":"a","artifacts":{}},` + ok,
	} {
		agree(t, []byte(in))
	}
}

func FuzzScannerAgreesWithEncodingJSON(f *testing.F) {
	files, _ := filepath.Glob("../../testdata/cyber-dojo-promotions/diff-snapshots/*.json")
	for _, name := range files[:min(3, len(files))] {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(`{"snappish1":{"snapshot_id":"a","artifacts":[{"fingerprint":"x","flow":null}]},"snappish2":{"snapshot_id":"b","artifacts":[]},"changed":{"artifacts":[]},"not-changed":{"artifacts":[]}}`))
	f.Fuzz(func(t *testing.T, data []byte) { agree(t, data) })
}
