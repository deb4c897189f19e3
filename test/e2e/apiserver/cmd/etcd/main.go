// Command etcd is upstream etcd's main (go.etcd.io/etcd/v3 main.go) at the version this module's
// kube-apiserver uses, for envtest-style runs: node test/e2e/build-apiserver.ts --envtest
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
