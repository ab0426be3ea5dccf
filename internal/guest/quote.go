package guest

import (
	"fmt"
	"strings"
)

// Quote returns s quoted for a POSIX shell: the whole string between single
// quotes, where each embedded single quote closes the quoting, adds an
// escaped quote and reopens it (four characters in all). Inside single
// quotes no character is special, so the result always stands for exactly s.
// s must not contain a NUL byte, which no shell word can carry; Command
// checks for that.
func Quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Command joins argv into one command line for the guest's shell, quoting
// every argument, so the remote shell runs argv[0] with exactly argv[1:] as
// its arguments. It fails on an empty argv or an argument holding a NUL byte.
func Command(argv []string) (string, error) {
	if len(argv) == 0 {
		return "", fmt.Errorf("quote command: empty argv")
	}
	parts := make([]string, len(argv))
	for i, a := range argv {
		if strings.IndexByte(a, 0) >= 0 {
			return "", fmt.Errorf("quote command: argument %d contains a NUL byte", i)
		}
		parts[i] = Quote(a)
	}
	return strings.Join(parts, " "), nil
}
