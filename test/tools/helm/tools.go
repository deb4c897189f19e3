//go:build tools

// Package tools pins helm for the chart tests: `go build helm.sh/helm/v4/cmd/helm` in this module
// builds exactly the version go.mod requires, with the dependency versions go.sum records.
package tools

import _ "helm.sh/helm/v4/cmd/helm"
