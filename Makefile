# vk-docker — see README.md. Every target is safe to run twice.
SHELL := /bin/bash
VERSION ?= 0.1.0
GO ?= go
REPO := $(CURDIR)
BIN := $(REPO)/bin
CLUSTER_DIR := $(REPO)/.cluster
APISERVER_PORT ?= 6443
TEST_TIMEOUT ?= 40m
TEST_FLAGS ?=
# e2e tests mostly wait (back-off, probes, grace periods), but on 2 cores more
# than 4 at once skews the timings they assert.
E2E_PARALLEL ?= 4
TIMING_PARALLEL ?= 2
BENCH_PODS ?= 20
# pods, probes (500 pods with 1 s readiness probes: make bench BENCH_MODE=probes
# BENCH_PODS=500) or restart (make bench BENCH_MODE=restart BENCH_PODS=200).
BENCH_MODE ?= pods
BENCH_ARGS ?=
FAULTS_TIMEOUT ?= 15m
SOAK_CYCLES ?= 1000
SOAK_PARALLEL ?= 4
# Set to the kubeconfig of another cluster to join it instead of starting the
# local control plane (make run CLUSTER_KUBECONFIG=~/.kube/config).
CLUSTER_KUBECONFIG ?=
NODE_NAME ?= vk-docker
# The local demo node runs every example, the seed's full Pod included: it
# selects nodes labelled type=normal and uses the host's namespaces.
RUN_NODE_ARGS ?= --node-labels type=normal --allow-host-network --allow-host-pid --allow-host-ipc --cluster-domain cluster.local

LDFLAGS := -X main.version=$(VERSION)

.PHONY: all build pause image images registry helm metrics-server control-plane cluster-up cluster-down run test unit bench kubelet-ref kubelet-ref-down faults soak lint clean

all: build

# The static pause program is embedded in vk-docker, which builds the pause
# image from it whenever the engine lacks it.
pause:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w" -o dockerhost/pausebin/pause ./cmd/pause

# Static, as in the image (hack/image.sh builds with the same flags, so the
# two share the build cache).
build: pause
	CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/vk-docker ./cmd/vk-docker

images: build
	$(BIN)/vk-docker pause-image --pause-image vk-docker/pause:$(VERSION)
	bash hack/images.sh $(VERSION)
	bash hack/test-image.sh grpchealth grpc-health $(VERSION)
	bash hack/test-image.sh dnsanswer dns-answer $(VERSION)

# vk-docker/vk-docker:<version>, the image the Helm chart (charts/vk-docker)
# runs: FROM scratch, nothing pulled.
image: pause
	bash hack/image.sh $(VERSION)

# bin/helm, from helm.sh/helm/v4 pinned in its own module, hack/helm
# (rebuilt only when its pins change).
helm:
	bash hack/helm.sh

# bin/metrics-server, from sigs.k8s.io/metrics-server pinned in its own
# module, hack/metrics-server (rebuilt only when its pins change): make run
# starts it (hack/metrics-server-up.sh) for `kubectl top`.
metrics-server:
	bash hack/metrics-server.sh

# The image registry the image-pull e2e tests run on 127.0.0.1 (its own
# module, hack/registry; rebuilt only when its pins change).
registry:
	bash hack/registry.sh

control-plane:
	bash hack/build-control-plane.sh

cluster-up: control-plane
	APISERVER_PORT=$(APISERVER_PORT) bash hack/cluster-up.sh

cluster-down:
	bash hack/cluster-down.sh

# The main job: a local cluster plus the virtual node in the foreground. The
# node joins as a kubelet does: TLS bootstrap with the cluster's bootstrap
# token, then its own certificate (system:node:$(NODE_NAME)). metrics-server
# runs beside the control plane (kubectl top); cluster-down stops it.
ifeq ($(CLUSTER_KUBECONFIG),)
run: build images metrics-server cluster-up
	bash hack/metrics-server-up.sh
	@gw=$$(bash hack/gateway.sh); \
	echo; echo "Node $(NODE_NAME) is starting. In another shell:"; \
	echo "  export KUBECONFIG=$(CLUSTER_DIR)/kubeconfig PATH=$(BIN):\$$PATH"; \
	echo "  kubectl apply -f examples/nginx.yaml && kubectl get pod -o wide -w"; echo; \
	exec $(BIN)/vk-docker --bootstrap-kubeconfig $(CLUSTER_DIR)/bootstrap-kubeconfig \
		--kubeconfig $(CLUSTER_DIR)/nodes/$(NODE_NAME)/kubeconfig --cert-dir $(CLUSTER_DIR)/nodes/$(NODE_NAME)/pki \
		--nodename $(NODE_NAME) \
		--taint none --node-ip $$gw --listen-address $$gw:10250 \
		--pod-api-address $$gw:$(APISERVER_PORT) $(RUN_NODE_ARGS)
else
run: build images
	exec $(BIN)/vk-docker --kubeconfig $(CLUSTER_KUBECONFIG) --nodename $(NODE_NAME)
endif

# Unit tests and Docker engine integration tests: no cluster needed.
unit: pause
	$(GO) test -count=1 $$($(GO) list ./... | grep -v /test/)

# Three passes, chosen by build tags: every file of test/e2e names its passes
# in a //go:build line (passes_test.go checks it). The e2e tests that assert
# the kubelet's timings (back-off, grace periods, probe periods; tag
# e2e_timing) run apart from the heavy functional ones (no tag), on a quieter
# machine; the probe and hook tests run again with probes from inside the
# pods' network (tag e2e_sandbox_probes; the path for remote engines).
E2E_ENV = KUBECONFIG=$(CLUSTER_DIR)/kubeconfig VK_DOCKER_BIN=$(BIN)/vk-docker VK_DOCKER_VERSION=$(VERSION) \
	APISERVER_PORT=$(APISERVER_PORT)
test: build images image registry helm metrics-server cluster-up
	$(E2E_ENV) $(GO) test -count=1 -timeout $(TEST_TIMEOUT) -parallel $(E2E_PARALLEL) $(TEST_FLAGS) ./...
	$(E2E_ENV) $(GO) test -count=1 -timeout $(TEST_TIMEOUT) -parallel $(TIMING_PARALLEL) $(TEST_FLAGS) -tags e2e_timing ./test/e2e/
	$(E2E_ENV) VK_DOCKER_E2E_NODE_ARGS=--probe-network=sandbox \
		$(GO) test -count=1 -timeout $(TEST_TIMEOUT) -parallel $(TIMING_PARALLEL) $(TEST_FLAGS) -tags e2e_sandbox_probes ./test/e2e/

bench: build images cluster-up
	KUBECONFIG=$(CLUSTER_DIR)/kubeconfig VK_DOCKER_BIN=$(BIN)/vk-docker VK_DOCKER_VERSION=$(VERSION) \
	APISERVER_PORT=$(APISERVER_PORT) \
		$(GO) run ./test/bench -pods $(BENCH_PODS) -mode $(BENCH_MODE) $(BENCH_ARGS)

# A real kubelet as a second node of this cluster, on its own containerd
# (hack/kubelet-ref), for `make bench BENCH_ARGS="-kubelet-node kubelet-ref"`.
# Needs Debian's containernetworking-plugins; builds bin/kubelet when missing.
# Not in CI.
kubelet-ref: images cluster-up
	bash hack/kubelet-ref/up.sh

kubelet-ref-down:
	bash hack/kubelet-ref/down.sh

# The fault suite (test/faults, build tag faults): the provider SIGKILLed
# during churn, the engine cut off and back, the API server restarted, a
# corpus of bad pods. One summary line per scenario ("faults: ..."). It
# restarts this cluster's API server: run it alone.
faults: build images cluster-up
	$(E2E_ENV) $(GO) test -count=1 -v -timeout $(FAULTS_TIMEOUT) -tags faults $(TEST_FLAGS) ./test/faults/

# SOAK_CYCLES create/delete cycles, then what the node and the provider
# process kept (not in CI: about an hour for 1000 cycles).
soak: build images cluster-up
	$(E2E_ENV) SOAK_CYCLES=$(SOAK_CYCLES) SOAK_PARALLEL=$(SOAK_PARALLEL) \
		$(GO) test -count=1 -v -timeout 4h -tags soak -run '^TestSoak$$' $(TEST_FLAGS) ./test/faults/

lint: pause
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags e2e_timing ./test/e2e/...
	$(GO) vet -tags e2e_sandbox_probes ./test/e2e/...
	$(GO) vet -tags faults ./test/faults/...
	$(GO) vet -tags soak ./test/faults/...
	cd hack/tools && $(GO) vet ./...

clean:
	rm -rf $(BIN)/vk-docker $(BIN)/kubelet $(BIN)/registry $(BIN)/.registry.stamp $(BIN)/metrics-server $(BIN)/.metrics-server.stamp dockerhost/pausebin/pause .cache
