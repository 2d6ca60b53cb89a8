// etcd server built from go.etcd.io/etcd/server/v3 for the kvguard e2e harness
// (Debian's etcd 3.4 is older than kube-apiserver 1.36 supports).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
