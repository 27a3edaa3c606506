//go:build !linux

package mapfile

import "os"

// mapString maps nothing here: the file is read instead.
func mapString(*os.File, int) (string, bool) { return "", false }
