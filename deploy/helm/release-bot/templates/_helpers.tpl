{{/*
The chart's name, or nameOverride.
*/}}
{{- define "release-bot.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name of the release's objects: fullnameOverride, or the release name
followed by the chart's name unless it already holds it. At most 57 characters,
so that "<fullname>-redis" is still a valid Service name (63).
*/}}
{{- define "release-bot.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 57 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 57 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 57 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
chart-version, as the helm.sh/chart label wants it.
*/}}
{{- define "release-bot.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels common to every object; selector labels are added per component.
*/}}
{{- define "release-bot.commonLabels" -}}
helm.sh/chart: {{ include "release-bot.chart" . }}
app.kubernetes.io/version: {{ include "release-bot.tag" . | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: release-bot
{{- end }}

{{/*
Selector labels of the bot's pods (never change them: a Deployment's selector
cannot be changed in place).
*/}}
{{- define "release-bot.selectorLabels" -}}
app.kubernetes.io/name: {{ include "release-bot.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: bot
{{- end }}

{{/*
Labels of the bot's objects.
*/}}
{{- define "release-bot.labels" -}}
{{ include "release-bot.commonLabels" . }}
{{ include "release-bot.selectorLabels" . }}
{{- end }}

{{/*
Selector labels of the trial Redis.
*/}}
{{- define "release-bot.redis.selectorLabels" -}}
app.kubernetes.io/name: {{ include "release-bot.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: redis
{{- end }}

{{/*
Labels of the trial Redis's objects.
*/}}
{{- define "release-bot.redis.labels" -}}
{{ include "release-bot.commonLabels" . }}
{{ include "release-bot.redis.selectorLabels" . }}
{{- end }}

{{/*
The image tag: image.tag, or the chart's appVersion.
*/}}
{{- define "release-bot.tag" -}}
{{- .Values.image.tag | default .Chart.AppVersion | toString }}
{{- end }}

{{/*
The ServiceAccount's name.
*/}}
{{- define "release-bot.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "release-bot.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The name of the Secret holding the credentials: existingSecret, or the
chart-made one.
*/}}
{{- define "release-bot.secretName" -}}
{{- default (include "release-bot.fullname" .) .Values.existingSecret }}
{{- end }}

{{/*
Where REDIS_URL comes from: "chart" (the trial Redis), "url" (redis.url),
"sentinel" (redis.sentinel), "cluster" (redis.cluster) or "secret" (secrets.redisUrl, or
existingSecret's redis-url).
*/}}
{{- define "release-bot.redisSource" -}}
{{- if .Values.redis.enabled }}chart{{ else if .Values.redis.url }}url{{ else if .Values.redis.sentinel.addrs }}sentinel{{ else if .Values.redis.cluster.addrs }}cluster{{ else }}secret{{ end }}
{{- end }}

{{/*
Does the bot reach GitHub as a GitHub App? "true" or "".
*/}}
{{- define "release-bot.githubApp" -}}
{{- if or .Values.github.app.id .Values.github.app.installationId .Values.secrets.githubAppPrivateKey }}true{{ end }}
{{- end }}

{{/*
The pipelines file's text, from a string or a map.
*/}}
{{- define "release-bot.pipelines" -}}
{{- if kindIs "string" .Values.pipelines }}
{{- .Values.pipelines }}
{{- else }}
{{- toYaml .Values.pipelines }}
{{- end }}
{{- end }}

{{/*
Refuse values that would make a bot that cannot start or that misbehaves,
with a message saying what to set. Included by the Deployment.
*/}}
{{- define "release-bot.validate" -}}
{{- $v := .Values }}
{{- $s := $v.secrets }}
{{- $chartSecrets := list }}
{{- range $key := list "slackBotToken" "slackAppToken" "kosliApiToken" "githubToken" "githubAppPrivateKey" "redisUrl" }}
{{- if index $s $key }}{{ $chartSecrets = append $chartSecrets (printf "secrets.%s" $key) }}{{ end }}
{{- end }}
{{- if $v.existingSecret }}
{{- if $chartSecrets }}
{{- fail (printf "release-bot: existingSecret (%s) is set, and so is %s: take the credentials from one or the other, never both" $v.existingSecret (join ", " $chartSecrets)) }}
{{- end }}
{{- else }}
{{- if not $chartSecrets }}
{{- fail "release-bot: no credentials: set existingSecret to a Secret with the keys slack-bot-token, slack-app-token, kosli-api-token (and github-token, redis-url as needed), or set secrets.slackBotToken, secrets.slackAppToken, secrets.kosliApiToken (and secrets.githubToken, secrets.redisUrl)" }}
{{- end }}
{{- $missing := list }}
{{- range $key := list "slackBotToken" "slackAppToken" "kosliApiToken" }}
{{- if not (index $s $key) }}{{ $missing = append $missing (printf "secrets.%s" $key) }}{{ end }}
{{- end }}
{{- if $missing }}
{{- fail (printf "release-bot: %s must be set (or use existingSecret)" (join ", " $missing)) }}
{{- end }}
{{- if not (hasPrefix "xoxb-" $s.slackBotToken) }}
{{- fail "release-bot: secrets.slackBotToken must be the Bot User OAuth Token, which starts with xoxb-" }}
{{- end }}
{{- if not (hasPrefix "xapp-" $s.slackAppToken) }}
{{- fail "release-bot: secrets.slackAppToken must be an app-level token with connections:write, which starts with xapp-" }}
{{- end }}
{{- end }}
{{- if not $v.kosli.org }}
{{- fail "release-bot: kosli.org must be set: the Kosli organization whose environments are promoted" }}
{{- end }}
{{- /* Redis: exactly one source. */}}
{{- $redis := list }}
{{- if $v.redis.enabled }}{{ $redis = append $redis "redis.enabled" }}{{ end }}
{{- if $v.redis.url }}{{ $redis = append $redis "redis.url" }}{{ end }}
{{- if $v.redis.sentinel.addrs }}{{ $redis = append $redis "redis.sentinel" }}{{ end }}
{{- if $v.redis.cluster.addrs }}{{ $redis = append $redis "redis.cluster" }}{{ end }}
{{- if $s.redisUrl }}{{ $redis = append $redis "secrets.redisUrl" }}{{ end }}
{{- if gt (len $redis) 1 }}
{{- fail (printf "release-bot: Redis is given more than once (%s): set only one" (join ", " $redis)) }}
{{- end }}
{{- if and (not $redis) (not $v.existingSecret) }}
{{- fail "release-bot: no Redis: set redis.url (an external Redis, no password in it), secrets.redisUrl (a URL with a password), or redis.enabled=true for a trial Redis. Without one every replica would keep its own state, and releases could be dispatched twice" }}
{{- end }}
{{- if $v.redis.url }}
{{- if not (regexMatch "^(redis|rediss)://[^@/]+(/[0-9]*)?$|^unix:///" $v.redis.url) }}
{{- fail "release-bot: redis.url must be redis://HOST:PORT/DB or rediss://HOST:PORT/DB without credentials; a URL with a password goes in secrets.redisUrl or existingSecret's redis-url" }}
{{- end }}
{{- end }}
{{- /* GitHub: a token or an App, not both. */}}
{{- if include "release-bot.githubApp" . }}
{{- if $s.githubToken }}
{{- fail "release-bot: secrets.githubToken is set as well as a GitHub App (github.app.*, secrets.githubAppPrivateKey): set one or the other" }}
{{- end }}
{{- if not (and $v.github.app.id $v.github.app.installationId) }}
{{- fail "release-bot: a GitHub App needs github.app.id and github.app.installationId, and its private key in secrets.githubAppPrivateKey or existingSecret's github-app-private-key" }}
{{- end }}
{{- if and (not $v.existingSecret) (not $s.githubAppPrivateKey) }}
{{- fail "release-bot: github.app.id is set but secrets.githubAppPrivateKey is not: give the App's PEM private key" }}
{{- end }}
{{- end }}
{{- /* Shutdown: SIGKILL must not cut the drain short. */}}
{{- if lt (int $v.terminationGracePeriodSeconds) (add (int $v.shutdown.drainSeconds) 5) }}
{{- fail (printf "release-bot: terminationGracePeriodSeconds (%d) must be at least shutdown.drainSeconds + 5 (%d), or Kubernetes kills the bot while commands are still draining" (int $v.terminationGracePeriodSeconds) (add (int $v.shutdown.drainSeconds) 5)) }}
{{- end }}
{{- /* Slack allows 10 Socket Mode connections per app. */}}
{{- $surge := $v.updateStrategy.rollingUpdate.maxSurge }}
{{- if kindIs "string" $surge }}{{ $surge = 0 }}{{ end }}
{{- if gt (add (int $v.replicaCount) (int $surge)) 10 }}
{{- fail (printf "release-bot: replicaCount (%d) + updateStrategy.rollingUpdate.maxSurge (%d) exceeds Slack's 10 Socket Mode connections per app" (int $v.replicaCount) (int $surge)) }}
{{- end }}
{{- /* The pipelines file must at least be YAML with pipelines in it; the bot checks the rest. */}}
{{- $p := fromYaml (include "release-bot.pipelines" .) }}
{{- if hasKey $p "Error" }}
{{- fail (printf "release-bot: pipelines is not valid YAML: %s" (get $p "Error")) }}
{{- end }}
{{- if not (get $p "pipelines") }}
{{- fail "release-bot: pipelines must hold the pipelines file, with a pipelines: list (see deploy/examples/pipelines.yaml)" }}
{{- end }}
{{- end }}

{{/*
REDIS_URL for a master behind Sentinel, in go-redis's ParseFailoverURL form.
*/}}
{{- define "release-bot.sentinelURL" -}}
{{- $s := .Values.redis.sentinel -}}
{{- if not $s.masterName }}{{ fail "release-bot: redis.sentinel.masterName is required with redis.sentinel.addrs: the master name the Sentinels monitor" }}{{ end -}}
{{ if $s.tls }}rediss{{ else }}redis{{ end }}://{{ first $s.addrs }}/{{ $s.db | int }}?master_name={{ $s.masterName | urlquery }}{{ range rest $s.addrs }}&addr={{ . }}{{ end }}
{{- end }}

{{/*
REDIS_URL for a Redis Cluster: the bot's redis+cluster:// form of go-redis's
ParseClusterURL, the first node as host and the others as addr parameters.
*/}}
{{- define "release-bot.clusterURL" -}}
{{- $c := .Values.redis.cluster -}}
{{ if $c.tls }}rediss{{ else }}redis{{ end }}+cluster://{{ first $c.addrs }}{{ range $i, $a := rest $c.addrs }}{{ if $i }}&{{ else }}?{{ end }}addr={{ $a }}{{ end }}
{{- end }}
