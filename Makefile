# diorama — build, test, bench, lint, play.
# go-sqlite3 is cgo and takes about 1.5 minutes to compile cold; the Go build
# cache keeps later builds fast. FTS5 is enabled through its build tag.

GO      ?= go
TAGS    := sqlite_fts5
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
PACK    ?= worlds/night_drive

.PHONY: build test bench lint play clean fuzz torture

build:
	$(GO) build -tags '$(TAGS)' -ldflags '$(LDFLAGS)' -o bin/diorama ./cmd/diorama
	$(GO) build -tags '$(TAGS)' -o bin/diorama-bench ./cmd/diorama-bench

test: build
	$(GO) vet -tags '$(TAGS)' ./...
	$(GO) test -tags '$(TAGS)' -count=1 -timeout 15m ./...
	./bin/diorama check worlds/*
	./bin/diorama test worlds/*

# torture: the crash loops at a large count (`make test` runs them at a
# small one), then the soak. TestCrashLoop SIGKILLs a child playing real
# turns with the memory workers running and checks the save after each
# kill; TestCrash does the same for raw turns appended through the store;
# the soak plays 5,000 turns in one process (memory, goroutines, overhead).
CRASH_KILLS       ?= 300
STORE_CRASH_KILLS ?= 300

torture: build
	DIORAMA_CRASHLOOP_ITERATIONS=$(CRASH_KILLS) $(GO) test -tags '$(TAGS)' -count=1 -timeout 60m -run '^TestCrashLoop$$' -v ./cmd/diorama/
	DIORAMA_CRASH_ITERATIONS=$(STORE_CRASH_KILLS) $(GO) test -tags '$(TAGS)' -count=1 -timeout 60m -run '^TestCrash$$' -v ./store/
	./bin/diorama-bench -group soak

# fuzz: every fuzz target in the module, one after another, FUZZTIME each.
# Targets are found with `go test -list`, so a new Fuzz function is picked
# up without editing this file. New interesting inputs go to the Go build
# cache ($(go env GOCACHE)/fuzz/); a crasher is written to the package's
# testdata/fuzz/NAME/ (keep it there as a regression seed). The checked-in
# corpora also run as ordinary tests in `make test`. FUZZFLAGS: e.g.
# -parallel=1 on a shared machine; -fuzzminimizetime bounds the shrinking
# of each new input (the default 60s can eat a whole short run on targets
# with kilobyte-sized inputs); add -timeout=0 for a FUZZTIME of 10m or more.
# A bare "context deadline exceeded" with no failing input is Go's fuzztime
# shutdown race (go.dev/issue/75804, fixed in Go 1.27), not a finding.
FUZZTIME  ?= 30s
FUZZFLAGS ?= -fuzzminimizetime=10s

fuzz:
	@list=$$($(GO) test -tags '$(TAGS)' -list '^Fuzz' ./...) || { echo "$$list"; exit 1; }; \
	tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	echo "$$list" | awk '/^Fuzz/ { t[n++] = $$1; next } /^ok / { for (i = 0; i < n; i++) print $$2, t[i]; n = 0 }' > "$$tmp/targets"; \
	failed=""; \
	while read -r pkg target; do \
		echo "== $$pkg $$target ($(FUZZTIME))"; \
		{ $(GO) test -tags '$(TAGS)' -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) $(FUZZFLAGS) $$pkg </dev/null; echo $$? > "$$tmp/rc"; } 2>&1 | tee "$$tmp/out"; \
		if [ "$$(cat "$$tmp/rc")" != 0 ]; then \
			if grep -q 'context deadline exceeded' "$$tmp/out" && ! grep -q 'Failing input written' "$$tmp/out" && [ "$$(grep -c -- '--- FAIL' "$$tmp/out")" = 1 ]; then \
				echo "fuzz: $$target: Go's fuzztime shutdown race (go.dev/issue/75804), no failing input: not a finding"; \
			else failed="$$failed $$pkg.$$target"; fi; \
		fi; \
	done < "$$tmp/targets"; \
	if [ -n "$$failed" ]; then echo "fuzz: FAILED:$$failed"; exit 1; fi; \
	echo "fuzz: all targets ran for $(FUZZTIME) without a finding"

bench: build
	./bin/diorama-bench -out docs/bench.json

lint:
	$(GO) vet -tags '$(TAGS)' ./...
	@test -z "$$(gofmt -l cmd core lua store stdlib worlds 2>/dev/null)" || (gofmt -l cmd core lua store; echo "gofmt: files above need formatting"; exit 1)

play: build
	./bin/diorama play $(PACK)

clean:
	rm -rf bin
