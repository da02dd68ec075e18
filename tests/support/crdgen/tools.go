//go:build tools

// The CRD generator and the operators' published API types it reads: scripts/crds.sh runs
// controller-gen over these packages to write tests/fixtures/crds/ (nothing is copied from the
// operators' own YAML). The versions are the ones the pinned charts ship: prometheus-operator
// v0.85.0 (kube-prometheus-stack 77.5.0) and cert-manager v1.18.2.
package crdgen

import (
	_ "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	_ "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	_ "sigs.k8s.io/controller-tools/cmd/controller-gen"
)
