package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func readOK(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("testdata/ok.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// edit is one change to testdata/ok.yaml.
type edit func(t *testing.T, manifest string) string

// replace changes the first occurrence of old, which must be there.
func replace(old, new string) edit {
	return func(t *testing.T, m string) string {
		t.Helper()
		if !strings.Contains(m, old) {
			t.Fatalf("testdata/ok.yaml does not contain %q", old)
		}
		return strings.Replace(m, old, new, 1)
	}
}

// drop removes the documents of a kind.
func drop(kind string) edit {
	return func(t *testing.T, m string) string {
		t.Helper()
		docs := strings.Split(m, "\n---\n")
		kept := docs[:0]
		for _, d := range docs {
			if !strings.Contains(d, "\nkind: "+kind+"\n") {
				kept = append(kept, d)
			}
		}
		if len(kept) == len(docs) {
			t.Fatalf("testdata/ok.yaml has no %s", kind)
		}
		return strings.Join(kept, "\n---\n")
	}
}

func appendDoc(doc string) edit {
	return func(_ *testing.T, m string) string { return m + "\n---\n" + doc }
}

func TestChartcheck(t *testing.T) {
	tests := []struct {
		name string
		edit edit
		opts Options
		want []string // substrings of the error; none: no error
	}{
		{name: "the rendered chart passes"},
		{
			name: "a field whose case is wrong is unknown",
			edit: replace("readOnlyRootFilesystem: true", "readOnlyRootFileSystem: true"),
			want: []string{`unknown field "spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem"`},
		},
		{
			name: "an unknown field",
			edit: replace("  revisionHistoryLimit: 5", "  revisionHistoryLimit: 5\n  paused2: true"),
			want: []string{`unknown field "spec.paused2"`},
		},
		{
			name: "a duplicate field",
			edit: replace("  replicas: 2", "  replicas: 2\n  replicas: 3"),
			want: []string{`"replicas" already set`},
		},
		{
			name: "a field of the wrong type",
			edit: replace("  replicas: 2", `  replicas: "two"`),
			want: []string{"Deployment", "replicas"},
		},
		{
			name: "an unknown kind",
			edit: appendDoc("apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: x\n"),
			want: []string{"unknown kind networking.k8s.io/v1 Ingress"},
		},
		{
			name: "a container running as root",
			edit: replace("            runAsUser: 65532", "            runAsUser: 0"),
			want: []string{"container release-bot: securityContext.runAsUser must be 65532"},
		},
		{
			name: "a container allowed to escalate",
			edit: replace("allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true"),
			want: []string{"securityContext.allowPrivilegeEscalation must be false"},
		},
		{
			name: "capabilities not dropped",
			edit: replace("              - ALL", "              - NET_RAW"),
			want: []string{"securityContext.capabilities.drop must hold ALL"},
		},
		{
			name: "a writable root filesystem",
			edit: replace("readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false"),
			want: []string{"securityContext.readOnlyRootFilesystem must be true"},
		},
		{
			name: "a pod without seccomp",
			edit: replace("      securityContext:\n        fsGroup: 65532\n        runAsGroup: 65532\n        runAsNonRoot: true\n        runAsUser: 65532\n        seccompProfile:\n          type: RuntimeDefault",
				"      securityContext:\n        fsGroup: 65532\n        runAsGroup: 65532\n        runAsNonRoot: true\n        runAsUser: 65532"),
			want: []string{"pod securityContext.seccompProfile.type must be RuntimeDefault"},
		},
		{
			name: "a container without a readiness probe",
			edit: replace("          readinessProbe:\n            exec:", "          startupProbe:\n            exec:"),
			want: []string{"container redis: readinessProbe is missing"},
		},
		{
			name: "readiness on the wrong path",
			edit: replace("path: /readyz", "path: /healthz"),
			want: []string{"readinessProbe must GET /readyz on port http"},
		},
		{
			name: "no config checksum",
			edit: replace("checksum/config:", "checksum/other:"),
			want: []string{"pod annotation checksum/config must be the sha256"},
		},
		{
			name: "the pipelines file not mounted read-only",
			edit: replace("              mountPath: /etc/release-bot\n              readOnly: true", "              mountPath: /etc/release-bot"),
			want: []string{"mount /etc/release-bot must be readOnly"},
		},
		{
			name: "two replicas without a PodDisruptionBudget",
			edit: drop("PodDisruptionBudget"),
			want: []string{"2 replicas but no PodDisruptionBudget selects its pods"},
		},
		{
			name: "a PodDisruptionBudget that blocks every drain",
			edit: replace("  minAvailable: 1", "  minAvailable: 2"),
			want: []string{"minAvailable 2 must be between 1 and replicas-1"},
		},
		{
			name: "a grace period shorter than the drain",
			edit: replace("terminationGracePeriodSeconds: 40", "terminationGracePeriodSeconds: 20"),
			want: []string{"terminationGracePeriodSeconds must be at least the drain (25s) + 5s"},
		},
		{
			name: "a Secret rendered although existingSecret is set",
			opts: Options{ExistingSecret: "rb-release-bot"},
			want: []string{"Secret/rb-release-bot: rendered although existingSecret (rb-release-bot) is set"},
		},
		{
			name: "a reference to a Secret the chart does not render",
			edit: drop("Secret"),
			want: []string{"env SLACK_BOT_TOKEN: refers to Secret rb-release-bot, which the chart does not render"},
		},
		{
			name: "an empty secret value",
			edit: replace(`  kosli-api-token: "a29zbGktdGVzdA=="`, `  kosli-api-token: ""`),
			want: []string{"key kosli-api-token is empty"},
		},
		{
			name: "no Redis",
			edit: replace("            - name: REDIS_URL\n              value: \"redis://rb-release-bot-redis:6379/0\"\n", ""),
			want: []string{"REDIS_URL must be set"},
		},
		{
			name: "a Service that selects nothing",
			edit: replace("    app.kubernetes.io/component: redis\n  ports:", "    app.kubernetes.io/component: redis-typo\n  ports:"),
			want: []string{"Service/rb-release-bot-redis: selector", "matches no Deployment's pods"},
		},
		{
			name: "a ServiceMonitor on a port the Service lacks",
			edit: replace("    - port: http\n", "    - port: metrics\n"),
			want: []string{`endpoint port "metrics" is not a port name of the selected Service`},
		},
		{
			name: "an invalid label value",
			edit: replace(`app.kubernetes.io/version: "0.1.0"`, `app.kubernetes.io/version: "0.1.0 beta"`),
			want: []string{`label app.kubernetes.io/version="0.1.0 beta"`},
		},
		{
			name: "no objects",
			edit: func(*testing.T, string) string { return "# nothing\n" },
			want: []string{"no objects"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := readOK(t)
			if tt.edit != nil {
				m = tt.edit(t, m)
			}
			o, err := Decode(strings.NewReader(m))
			if err == nil {
				err = Check(o, tt.opts)
			}
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("want no error, got:\n%v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("want an error with %q, got none", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("want an error with %q, got:\n%v", w, err)
				}
			}
		})
	}
}

func TestRunExitStatus(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"testdata/ok.yaml"}, nil, &out, &errOut); code != 0 {
		t.Fatalf("ok.yaml: exit %d, stderr:\n%s", code, errOut.String())
	}
	if !strings.HasPrefix(out.String(), "chartcheck: ok, 9 objects: ") {
		t.Errorf("stdout = %q", out.String())
	}
	pipelines := t.TempDir() + "/pipelines.yaml"
	if code := run([]string{"-pipelines-out", pipelines, "testdata/ok.yaml"}, nil, &out, &errOut); code != 0 {
		t.Fatalf("-pipelines-out: exit %d, stderr:\n%s", code, errOut.String())
	}
	if b, err := os.ReadFile(pipelines); err != nil || !strings.HasPrefix(string(b), "pipelines:\n  - name: prod\n") {
		t.Errorf("-pipelines-out wrote %q (%v), want the ConfigMap's pipelines.yaml", b, err)
	}

	out.Reset()
	errOut.Reset()
	bad := strings.Replace(readOK(t), "allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true", -1)
	if code := run(nil, strings.NewReader(bad), &out, &errOut); code != 1 {
		t.Fatalf("bad input: exit %d, want 1", code)
	}
	// One problem per line, each naming its object: both containers are reported.
	if n := strings.Count(errOut.String(), "allowPrivilegeEscalation must be false"); n != 2 {
		t.Errorf("want 2 lines about allowPrivilegeEscalation, got %d:\n%s", n, errOut.String())
	}
	if out.Len() != 0 {
		t.Errorf("stdout on failure = %q, want nothing", out.String())
	}

	if code := run([]string{"-no-such-flag"}, nil, &out, &errOut); code != 2 {
		t.Errorf("bad flag: exit %d, want 2", code)
	}
	if code := run([]string{"testdata/no-such-file.yaml"}, nil, &out, &errOut); code != 2 {
		t.Errorf("missing file: exit %d, want 2", code)
	}
}
