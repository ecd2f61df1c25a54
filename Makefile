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

# fuzz: every fuzz target of every package for FUZZTIME each, one after the
# other (targets are found with go test -list, not listed here). Their seed
# corpora (testdata/fuzz) run as ordinary tests in `make test`.
FUZZTIME ?= 30s

fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -tags '$(TAGS)' -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "fuzz $$pkg $$f ($(FUZZTIME))"; \
			$(GO) test -tags '$(TAGS)' -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -parallel 1 $$pkg || exit 1; \
		done; \
	done

bench: build
	./bin/diorama-bench -out docs/bench.json

lint:
	$(GO) vet -tags '$(TAGS)' ./...
	@test -z "$$(gofmt -l cmd core lua store stdlib worlds 2>/dev/null)" || (gofmt -l cmd core lua store; echo "gofmt: files above need formatting"; exit 1)

play: build
	./bin/diorama play $(PACK)

clean:
	rm -rf bin
