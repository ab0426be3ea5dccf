# Shared by scripts/run and scripts/test: PATH and the binary.
export PATH="/usr/local/go/bin:$PATH"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

build_binary() {
	echo "==> building bin/builds"
	go build -o bin/builds ./cmd/builds
}
