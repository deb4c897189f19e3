//go:build tools

// Package tools pins kustomize for the test of deploy/kustomize: `go build
// sigs.k8s.io/kustomize/kustomize/v5` in this module builds exactly the version go.mod requires.
package tools

import _ "sigs.k8s.io/kustomize/kustomize/v5"
