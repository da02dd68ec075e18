// Reads a JSON array of image references on stdin and writes a JSON array of booleans: whether the
// container runtimes' reference parser (distribution's ParseNormalizedNamed, which the kubelet and
// containerd use) accepts each. The oracle e2e test compares it with the program's validation.
package main

import (
	// Digest algorithms are available only when their hash is linked in, as it is in the kubelet.
	_ "crypto/sha256"
	_ "crypto/sha512"
	"encoding/json"
	"os"

	"github.com/distribution/reference"
)

func main() {
	var refs []string
	if err := json.NewDecoder(os.Stdin).Decode(&refs); err != nil {
		panic(err)
	}
	ok := make([]bool, len(refs))
	for i, r := range refs {
		_, err := reference.ParseNormalizedNamed(r)
		ok[i] = err == nil
	}
	if err := json.NewEncoder(os.Stdout).Encode(ok); err != nil {
		panic(err)
	}
}
