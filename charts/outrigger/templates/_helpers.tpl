{{/* The labels every object carries, the same as `outrigger manifests`: the Deployment's selector uses them, so they never vary by release. */}}
{{- define "outrigger.labels" -}}
app.kubernetes.io/name: outrigger
app.kubernetes.io/component: webhook
{{- end }}

{{/* The image reference: repository:tag, or repository[:tag]@digest when a digest is set. */}}
{{- define "outrigger.image" -}}
{{- $i := .Values.image -}}
{{- if $i.digest -}}
{{- if $i.tag }}{{ $i.repository }}:{{ $i.tag }}@{{ $i.digest }}{{ else }}{{ $i.repository }}@{{ $i.digest }}{{ end -}}
{{- else -}}
{{ $i.repository }}:{{ $i.tag }}
{{- end -}}
{{- end }}

{{/* Fails the render with a message naming the value when the cert mode's inputs do not fit. */}}
{{- define "outrigger.validate" -}}
{{- $c := .Values.certificates -}}
{{- if and (eq $c.mode "files") (not $c.caBundle) -}}
{{- fail "certificates.caBundle: certificates.mode files needs the PEM of the CA that signed the certificate in Secret outrigger-tls" -}}
{{- end -}}
{{- if and (ne $c.mode "files") $c.caBundle -}}
{{- fail "certificates.caBundle: only applies to certificates.mode files" -}}
{{- end -}}
{{- if and $c.caBundle (not (contains "-----BEGIN CERTIFICATE-----" $c.caBundle)) -}}
{{- fail "certificates.caBundle: holds no PEM certificate" -}}
{{- end -}}
{{- end }}
