# hookd's commands. The README and .ci/run use these targets.
GO ?= go

.PHONY: help run test lint fuzz bench build screenshots

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

run: ## run hookd on the embedded store in ./hookd-data
	$(GO) run ./cmd/hookd serve

build: ## build the hookd binary into ./bin
	$(GO) build -o bin/hookd ./cmd/hookd

test: ## run the whole test suite with the race detector, on a throwaway PostgreSQL too
	scripts/with-postgres $(GO) test -race -count=1 ./...

# staticcheck runs at a pinned version through the module proxy, so that a
# fresh machine (CI) needs nothing installed by hand and every run checks
# the same rules.
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

lint: ## go vet, gofmt and staticcheck
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) run $(STATICCHECK) ./...

FUZZTIME ?= 30s
fuzz: ## run every fuzz target for FUZZTIME each
	$(GO) test ./internal/httpapi -run '^$$' -fuzz '^FuzzCreateWebhook$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/httpapi -run '^$$' -fuzz '^FuzzPatchWebhook$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/httpapi -run '^$$' -fuzz '^FuzzPublishEvent$$' -fuzztime $(FUZZTIME)
	$(GO) test . -run '^$$' -fuzz '^FuzzWebhookValidate$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/httpapi -run '^$$' -fuzz '^FuzzJSONScan$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/delivery -run '^$$' -fuzz '^FuzzBody$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/delivery -run '^$$' -fuzz '^FuzzRequestHead$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/delivery -run '^$$' -fuzz '^FuzzAnswer$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/httpapi -run '^$$' -fuzz '^FuzzListQuery$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/dialect/property -run '^$$' -fuzz '^FuzzRequest$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/dialect/facility -run '^$$' -fuzz '^FuzzRequest$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/dialect/device -run '^$$' -fuzz '^FuzzRequest$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/dialect/enterprise -run '^$$' -fuzz '^FuzzRequest$$' -fuzztime $(FUZZTIME)
	$(GO) test ./verify -run '^$$' -fuzz '^FuzzVerify$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/schema -run '^$$' -fuzz '^FuzzCompileValidate$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/cli -run '^$$' -fuzz '^FuzzWebhookCommand$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/catalog -run '^$$' -fuzz '^FuzzNegotiate$$' -fuzztime $(FUZZTIME)

bench: ## run the delivery benchmark against the raw HTTP limit
	$(GO) run ./cmd/hookd-bench

screenshots: ## drive chromium through the dashboard and write docs/screenshots/*.png
	mkdir -p docs/screenshots
	HOOKD_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test -count=1 -run '^(TestScreenshots|TestBrowser)$$' ./internal/ui
