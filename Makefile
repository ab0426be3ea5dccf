# Run `make` or `make help` for the list of targets.
export PATH := /usr/local/go/bin:$(PATH)

.PHONY: help build test test-short vet lint run bench image clean

help: ## show this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-11s %s\n", $$1, $$2}'

build: ## build bin/builds
	go build -o bin/builds ./cmd/builds

test: ## the whole suite, installing what it needs (same as CI)
	scripts/test

test-short: ## unit tests only: no VMs, servers or browser
	go test -short ./...

vet: ## go vet
	go vet ./...

lint: ## staticcheck (installed on first use)
	go run honnef.co/go/tools/cmd/staticcheck@latest ./...

run: ## start the service on its defaults and run a real build
	scripts/run

bench: ## run the benchmarks (needs the same parts as the tests)
	go test -run '^$$' -bench . -benchtime 1x ./...

image: ## build (or reuse the cached) Debian guest image
	go run ./cmd/builds image build debian/bookworm

clean: ## remove built binaries
	rm -rf bin
