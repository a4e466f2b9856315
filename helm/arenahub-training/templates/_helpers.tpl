{{/* Names, labels and checks of the arenahub-training chart. */}}

{{- define "training.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "training.fullname" -}}
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

{{- define "training.labels" -}}
app.kubernetes.io/name: {{ include "training.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: arenahub
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Namespace of a competition. Call with (list $ competition). */}}
{{- define "training.namespace" -}}
{{- printf "%s%s" (index . 0).Values.namespacePrefix (index . 1).name -}}
{{- end -}}

{{/* CPU and memory totals of a competition (its own, else per-GPU defaults). */}}
{{- define "training.cpu" -}}
{{- $ := index . 0 -}}{{- $c := index . 1 -}}
{{- if $c.cpu -}}{{- $c.cpu -}}{{- else -}}{{- mul $c.gpus $.Values.defaults.cpuPerGpu -}}{{- end -}}
{{- end -}}

{{/* A per-GPU quantity times a competition's GPUs: (list "128Gi" 4) -> "512Gi". */}}
{{- define "training.perGpu" -}}
{{- $per := index . 0 -}}
{{- $n := regexFind "^[0-9]+" $per -}}
{{- printf "%d%s" (mul (index . 1) (atoi $n)) (trimPrefix $n $per) -}}
{{- end -}}

{{- define "training.memory" -}}
{{- $ := index . 0 -}}{{- $c := index . 1 -}}
{{- if $c.memory -}}{{- $c.memory -}}{{- else -}}{{- include "training.perGpu" (list $.Values.defaults.memoryPerGpu $c.gpus) -}}{{- end -}}
{{- end -}}

{{- define "training.ephemeralStorage" -}}
{{- $ := index . 0 -}}{{- $c := index . 1 -}}
{{- if $c.ephemeralStorage -}}{{- $c.ephemeralStorage -}}{{- else -}}{{- include "training.perGpu" (list $.Values.defaults.ephemeralStoragePerGpu $c.gpus) -}}{{- end -}}
{{- end -}}

{{/* Fails with a readable message when values contradict each other. */}}
{{- define "training.checkValues" -}}
{{- $seen := dict -}}
{{- range $i, $c := .Values.competitions -}}
{{- if hasKey $seen $c.name -}}
{{- fail (printf "competitions[%d]: name %q is used twice; each competition gets its own namespace." $i $c.name) -}}
{{- end -}}
{{- $_ := set $seen $c.name true -}}
{{- if gt (len (include "training.namespace" (list $ $c))) 63 -}}
{{- fail (printf "competitions[%d]: namespace %q is longer than 63 characters; shorten the name or namespacePrefix." $i (include "training.namespace" (list $ $c))) -}}
{{- end -}}
{{- end -}}
{{- end -}}
