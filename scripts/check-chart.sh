#!/usr/bin/env bash
# Checks the Helm chart deploy/helm/release-bot without a cluster:
#   1. installs a pinned helm with `go install` (Debian has no helm package),
#      once: later runs reuse $(go env GOPATH)/bin/helm;
#   2. tests and builds chartcheck (deploy/helm/chartcheck, its own module);
#   3. for the default values and for deploy/helm/examples/ha-values.yaml:
#      helm lint --strict, helm template, every object decoded strictly against
#      the Kubernetes API types plus the chart's promises (chartcheck), and the
#      rendered pipelines file read by the bot itself when dist/bot exists
#      (scripts/build-static.sh makes it);
#   4. asserts that bad values fail: each deploy/helm/chartcheck/testdata/bad-values-*.yaml
#      with the messages its "# expect:" lines give, and the chart's own refusals.
# It exits non-zero on any problem. Needs Go; network only for the first helm install.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS

# helm v3.22.0 builds with Go 1.26 and uses the Kubernetes v0.37 modules; its
# Makefile stamps the version and the Kubernetes version (the default of
# `helm template --kube-version`, 1.20 when unstamped) with these ldflags.
HELM_VERSION=v3.22.0
HELM_K8S_MINOR=37

chart=deploy/helm/release-bot
fail() { echo "check-chart: $*" >&2; exit 1; }

gobin=$(go env GOBIN)
gobin=${gobin:-$(go env GOPATH)/bin}
helm=$gobin/helm
if ! go version -m "$helm" 2>/dev/null | grep -qE "^\s+mod\s+helm.sh/helm/v3\s+${HELM_VERSION}\s"; then
  echo "--- installing helm ${HELM_VERSION} into $gobin (go install; a minute or two the first time)"
  t=$SECONDS
  GOBIN=$gobin go install -ldflags "-s -w \
    -X helm.sh/helm/v3/internal/version.version=${HELM_VERSION} \
    -X helm.sh/helm/v3/internal/version.gitTreeState=clean \
    -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 \
    -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=${HELM_K8S_MINOR} \
    -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 \
    -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=${HELM_K8S_MINOR}" \
    "helm.sh/helm/v3/cmd/helm@${HELM_VERSION}"
  echo "helm installed in $((SECONDS - t))s"
fi
"$helm" version --short

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Keep helm away from $HOME: it needs no repositories or plugins here.
export HELM_CACHE_HOME=$work/helm/cache HELM_CONFIG_HOME=$work/helm/config HELM_DATA_HOME=$work/helm/data

echo "--- chartcheck: vet, tests, build"
(
  cd deploy/helm/chartcheck
  go vet ./...
  go test ./...
  go build -o "$work/chartcheck" .
)
chartcheck=$work/chartcheck

# The values `helm install` requires when existingSecret is not used; fake
# tokens of the right shape.
required=(
  --set secrets.slackBotToken=xoxb-ci-not-a-token
  --set secrets.slackAppToken=xapp-ci-not-a-token
  --set secrets.kosliApiToken=ci-not-a-token
  --set secrets.githubToken=ci-not-a-token
  --set secrets.redisUrl=redis://:ci-not-a-password@redis.example:6379/0
  --set kosli.org=ci
)

bot=dist/bot
# check_pipelines FILE: the bot reads the rendered pipelines file with
# `bot config check`, which needs no environment and exits 0 on a valid file,
# 2 (every problem with its file, line and field) on an invalid one.
check_pipelines() {
  local file=$1 out
  if [ ! -x "$bot" ]; then
    echo "pipelines: not read by the bot ($bot is missing: run scripts/build-static.sh first)"
    return
  fi
  if ! out=$(env -i "$bot" config check "$file" 2>&1); then
    echo "$out" >&2
    fail "the bot refuses the rendered pipelines file"
  fi
  echo "pipelines: the bot accepts them"
}

# The check above must see a bad file: one the bot refuses (no from, to, channel).
if [ -x "$bot" ]; then
  printf 'pipelines:\n  - name: prod\n' >"$work/bad.pipelines.yaml"
  if (check_pipelines "$work/bad.pipelines.yaml") >/dev/null 2>&1; then
    fail "check_pipelines accepted a pipelines file the bot must refuse"
  fi
fi

# render NAME CHARTCHECK_FLAGS -- HELM_ARGS…: lint, template, chartcheck, pipelines.
render() {
  local name=$1; shift
  local flags=()
  while [ "$1" != "--" ]; do flags+=("$1"); shift; done
  shift
  echo "--- $name"
  local out
  out=$("$helm" lint --strict "$chart" "$@" 2>&1) || { echo "$out" >&2; fail "$name: helm lint"; }
  echo "helm lint: ok"
  "$helm" template release-bot "$chart" --namespace release-bot "$@" >"$work/$name.yaml" || fail "$name: helm template"
  "$chartcheck" "${flags[@]}" -pipelines-out "$work/$name.pipelines.yaml" "$work/$name.yaml" || fail "$name: chartcheck"
  check_pipelines "$work/$name.pipelines.yaml"
}

render default -- "${required[@]}"
render trial-redis -- "${required[@]}" --set secrets.redisUrl= --set redis.enabled=true \
  --set metrics.serviceMonitor.enabled=true --set replicaCount=1
ha=deploy/helm/examples/ha-values.yaml
existing=$(sed -n 's/^existingSecret: *\([^ #]*\).*/\1/p' "$ha")
[ -n "$existing" ] || fail "$ha has no existingSecret"
render ha-values -existing-secret "$existing" -- -f "$ha"
# Redis Cluster (and Sentinel), the password from redis.existingSecret
# (here the credentials' Secret, key redis-password) as REDIS_PASSWORD.
render redis-cluster -existing-secret creds -- --set existingSecret=creds --set kosli.org=ci \
  --set 'redis.cluster.addrs={rc-0.rc:6379,rc-1.rc:6379,rc-2.rc:6379}' --set redis.existingSecret=creds
grep -qF 'value: "redis+cluster://rc-0.rc:6379?addr=rc-1.rc:6379&addr=rc-2.rc:6379"' "$work/redis-cluster.yaml" ||
  fail "redis-cluster: REDIS_URL is not the redis+cluster:// form"
grep -qF 'key: redis-password' "$work/redis-cluster.yaml" || fail "redis-cluster: REDIS_PASSWORD is not from redis.existingSecret"
render redis-sentinel -existing-secret creds -- --set existingSecret=creds --set kosli.org=ci \
  --set 'redis.sentinel.addrs={s-0.s:26379,s-1.s:26379}' --set redis.sentinel.masterName=mymaster --set redis.existingSecret=creds
grep -qF 'value: "redis://s-0.s:26379/0?master_name=mymaster&addr=s-1.s:26379"' "$work/redis-sentinel.yaml" ||
  fail "redis-sentinel: REDIS_URL is not go-redis's ParseFailoverURL form"

# must_fail NAME EXPECTED… -- HELM_ARGS…: rendering and checking must fail,
# saying each EXPECTED.
must_fail() {
  local name=$1; shift
  local want=()
  while [ "$1" != "--" ]; do want+=("$1"); shift; done
  shift
  local out rc=0
  out=$( { "$helm" template release-bot "$chart" "$@" | "$chartcheck"; } 2>&1 ) || rc=$?
  [ "$rc" -ne 0 ] || fail "$name: passed, but must fail"
  for w in "${want[@]}"; do
    grep -qF -- "$w" <<<"$out" || { echo "$out" >&2; fail "$name: failed without saying: $w"; }
  done
  echo "refused as expected: $name"
}

echo "--- bad values must fail"
shopt -s nullglob
bad=(deploy/helm/chartcheck/testdata/bad-values-*.yaml)
[ ${#bad[@]} -gt 0 ] || fail "no deploy/helm/chartcheck/testdata/bad-values-*.yaml"
for f in "${bad[@]}"; do
  mapfile -t expect < <(sed -n 's/^# expect: //p' "$f")
  [ ${#expect[@]} -gt 0 ] || fail "$f has no '# expect:' line"
  must_fail "$(basename "$f")" "${expect[@]}" -- "${required[@]}" -f "$f"
done
must_fail "no credentials" "no credentials: set existingSecret" -- --set kosli.org=ci
must_fail "existingSecret and secrets" "never both" -- "${required[@]}" --set existingSecret=x
must_fail "no Redis" "no Redis" -- "${required[@]}" --set secrets.redisUrl=
must_fail "password in redis.url" "without credentials" -- "${required[@]}" --set secrets.redisUrl= \
  --set redis.url=redis://:secret@redis:6379/0
must_fail "grace period within the drain" "must be at least shutdown.drainSeconds + 5" -- "${required[@]}" \
  --set terminationGracePeriodSeconds=25

echo "check-chart: ok in $((SECONDS - start))s (helm ${HELM_VERSION})"
