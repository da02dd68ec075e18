// Package shim recreates pulumi-random's provider/shim module (not in the provider module's zip):
// build.sh copies it into the provider build folder with a generated go.mod. Untested here: the Go
// module proxy refuses github.com/pulumi/pulumi-random/provider/v4 (see toolchain/README.md).
package shim

import (
	"github.com/hashicorp/terraform-plugin-framework/provider"
	p "github.com/terraform-providers/terraform-provider-random/internal/provider"
)

func NewProvider() provider.Provider { return p.New() }
