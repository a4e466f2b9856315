{{/* Names, labels and shared snippets of the arenahub-coding chart. */}}

{{- define "arenahub.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "arenahub.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Object name of a component: "<fullname>-<component>". Call with (list $ "hub"). */}}
{{- define "arenahub.componentName" -}}
{{- printf "%s-%s" (include "arenahub.fullname" (index . 0)) (index . 1) -}}
{{- end -}}

{{/* Labels that select a component's pods; stable across upgrades. Call with (list $ "hub"). */}}
{{- define "arenahub.selectorLabels" -}}
{{- $ := index . 0 -}}
app.kubernetes.io/name: {{ include "arenahub.name" $ }}
app.kubernetes.io/instance: {{ $.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{/* All labels of a component's objects. Call with (list $ "hub"). */}}
{{- define "arenahub.labels" -}}
{{ include "arenahub.selectorLabels" . }}
{{- $ := index . 0 }}
app.kubernetes.io/part-of: arenahub
app.kubernetes.io/version: {{ $.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ $.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" $.Chart.Name $.Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* "name:tag" of an image value {name, tag}. */}}
{{- define "arenahub.image" -}}
{{- printf "%s:%s" .name .tag -}}
{{- end -}}

{{- define "arenahub.gatewayImage" -}}
{{- $img := .Values.gateway.image -}}
{{- if $img.name -}}
{{- printf "%s:%s" $img.name (default .Values.hub.image.tag $img.tag) -}}
{{- else -}}
{{- include "arenahub.image" .Values.hub.image -}}
{{- end -}}
{{- end -}}

{{- define "arenahub.hubServiceAccount" -}}
{{- if .Values.hub.serviceAccount.create -}}
{{- default (include "arenahub.componentName" (list . "hub")) .Values.hub.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.hub.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The chart's generated secret values, kept across upgrades: an explicit value wins, then
the value already in the cluster's Secret, then a new random one. Call with (list $ "key" explicit). */}}
{{- define "arenahub.secretValue" -}}
{{- $ := index . 0 -}}
{{- $key := index . 1 -}}
{{- $explicit := index . 2 -}}
{{- if $explicit -}}
{{- $explicit -}}
{{- else -}}
{{- $existing := lookup "v1" "Secret" $.Release.Namespace (include "arenahub.componentName" (list $ "secrets")) -}}
{{- if and $existing (hasKey (default dict $existing.data) $key) -}}
{{- index $existing.data $key | b64dec -}}
{{- else -}}
{{- /* 64 hex-like characters: sha256 of random text */ -}}
{{- randAlphaNum 64 | sha256sum -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Pod security settings shared by the chart's own pods (restricted Pod Security profile). */}}
{{- define "arenahub.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 1000
runAsGroup: 1000
fsGroup: 1000
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "arenahub.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end -}}

{{/* Egress to the cluster DNS (any private address, port 53). */}}
{{- define "arenahub.dnsEgress" -}}
- ports:
    - {port: 53, protocol: UDP}
    - {port: 53, protocol: TCP}
  to:
    - ipBlock: {cidr: 10.0.0.0/8}
    - ipBlock: {cidr: 172.16.0.0/12}
    - ipBlock: {cidr: 192.168.0.0/16}
    - namespaceSelector: {}
{{- end -}}

{{/* Is a PostgreSQL of this chart needed (hub or gateway on postgres without an external url)? */}}
{{- define "arenahub.usesInChartPostgres" -}}
{{- if or (and (eq .Values.hub.db.type "postgres") (not .Values.hub.db.url)) (and .Values.gateway.enabled (eq .Values.gateway.db.type "postgres") (not .Values.gateway.db.url)) -}}
true
{{- end -}}
{{- end -}}

{{/* Fails the render with a readable message when values contradict each other (the schema
checks each value alone). */}}
{{- define "arenahub.checkValues" -}}
{{- if and (include "arenahub.usesInChartPostgres" .) (not .Values.postgresql.enabled) -}}
{{- fail "hub.db.type (or gateway.db.type) is postgres without a url, but postgresql.enabled is false. Set hub.db.url (and gateway.db.url) to an external PostgreSQL, or set postgresql.enabled=true for the in-chart one." -}}
{{- end -}}
{{- $defaults := 0 -}}
{{- $slugs := dict -}}
{{- range $i, $p := .Values.singleuser.profileList -}}
{{- if hasKey $slugs $p.slug -}}
{{- fail (printf "singleuser.profileList[%d]: slug %q is used twice; every profile needs its own slug." $i $p.slug) -}}
{{- end -}}
{{- $_ := set $slugs $p.slug true -}}
{{- if $p.default -}}{{- $defaults = add1 $defaults -}}{{- end -}}
{{- $f := float64 (default 0 $p.gpu_fraction) -}}
{{- if gt $f 0.0 -}}
{{- $n := divf 1 $f -}}
{{- $d := subf $n (round $n 0) -}}
{{- if or (gt $d 0.000001) (lt $d -0.000001) -}}
{{- fail (printf "singleuser.profileList[%d] (%s): gpu_fraction %v does not divide a GPU evenly; use 1/n (1, 0.5, 0.25, 0.125 ...)." $i $p.slug $p.gpu_fraction) -}}
{{- end -}}
{{- if and (eq $.Values.gpuSharing.backend "whole") (lt $f 1.0) -}}
{{- fail (printf "singleuser.profileList[%d] (%s): gpu_fraction %v needs a GPU sharing backend, but gpuSharing.backend is \"whole\". Use gpu_fraction 0 or 1, or pick hami, gpumanager, nvidia-timeslicing, nvidia-mps or mig." $i $p.slug $p.gpu_fraction) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if gt $defaults 1 -}}
{{- fail "singleuser.profileList: more than one profile has default: true; mark one." -}}
{{- end -}}
{{- $volumes := dict "state" true "tmp" true "training-kubeconfig" true -}}
{{- range $i, $v := .Values.gateway.extraVolumes -}}
{{- if hasKey $volumes $v.name -}}
{{- fail (printf "gateway.extraVolumes[%d]: the name %q is taken (by the chart's state, tmp or training-kubeconfig volume, or an earlier entry); give the volume its own name." $i $v.name) -}}
{{- end -}}
{{- $_ := set $volumes $v.name true -}}
{{- end -}}
{{- range $i, $m := .Values.gateway.extraVolumeMounts -}}
{{- if or (not (hasKey $volumes $m.name)) (has $m.name (list "state" "tmp" "training-kubeconfig")) -}}
{{- $extra := without (keys $volumes | sortAlpha) "state" "tmp" "training-kubeconfig" -}}
{{- fail (printf "gateway.extraVolumeMounts[%d]: volume %q is not one of gateway.extraVolumes (%s); add it there, or mount one of those." $i $m.name (empty $extra | ternary "it is empty" (printf "names: %s" (join ", " $extra)))) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* A database URL with a password put in after the user: (list "postgresql+psycopg://u@h/db" "$(PW)"). */}}
{{- define "arenahub.urlWithPassword" -}}
{{- $url := index . 0 -}}
{{- $password := index . 1 -}}
{{- $parts := splitn "://" 2 $url -}}
{{- $rest := $parts._1 -}}
{{- if contains "@" $rest -}}
{{- $userHost := splitn "@" 2 $rest -}}
{{- printf "%s://%s:%s@%s" $parts._0 (splitList ":" $userHost._0 | first) $password $userHost._1 -}}
{{- else -}}
{{- $url -}}
{{- end -}}
{{- end -}}
