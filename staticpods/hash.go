package staticpods

import (
	"hash"

	"github.com/davecgh/go-spew/spew"
)

// deepHash writes obj to h the way the kubelet's hash.DeepHashObject does:
// printed by spew with sorted map keys and without calling String methods,
// following pointers, so equal content always gives equal bytes.
func deepHash(h hash.Hash, obj any) {
	h.Reset()
	printer := spew.ConfigState{Indent: " ", SortKeys: true, DisableMethods: true, SpewKeys: true}
	printer.Fprintf(h, "%#v", obj)
}
