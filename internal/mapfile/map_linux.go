package mapfile

import (
	"os"
	"syscall"
	"unsafe"
)

// mapString maps size bytes of f, private and read-only, and fills the page
// table in the same call (MAP_POPULATE) rather than one fault per page. It
// says false when the file cannot be mapped; the caller reads it instead.
// The mapping is never undone: it lives as long as the strings cut from it.
func mapString(f *os.File, size int) (string, bool) {
	b, err := syscall.Mmap(int(f.Fd()), 0, size, syscall.PROT_READ, syscall.MAP_PRIVATE|syscall.MAP_POPULATE)
	if err != nil {
		return "", false
	}
	return unsafe.String(&b[0], len(b)), true
}
