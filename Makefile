# ctrace: every target installs what it is missing (Debian packages with
# apt-get, Python packages with pip into .venv), so a fresh machine needs
# nothing but `make demo` and `make test`.

# The interpreter the virtualenvs are made from (this machine's 3.11 first).
ifndef PYTHON
PYTHON := $(shell command -v python3.11 || command -v python3)
endif
VENV        := .venv
PY          := $(VENV)/bin/python
BUILD_DIR   := build/py
STATE_DIR   := .ctrace
AGENT       := $(VENV)/bin/ctrace-agent
AGENT_PORT  ?= 8126
PYTEST_ARGS ?=
# Tools pip installs into .venv (meson, ninja, ddapm-test-agent) come first.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
# The full build whatever an earlier run configured in build/py (meson
# keeps options between runs; a helper build may have turned one off).
BUILD_ARGS  ?= -Csetup-args=-Dagent=true -Csetup-args=-Dtracer=true

.PHONY: all deps build check lint format test test-c test-js test-sanitizers test-valgrind test-python test-all-pythons demo stop bench fuzz clean

all: build

deps: $(VENV)/.deps-stamp

$(VENV)/.system-stamp: tools/install-system-deps
	tools/install-system-deps
	@mkdir -p $(VENV) && touch $@

$(VENV)/.deps-stamp: $(VENV)/.system-stamp tools/requirements-dev.txt tools/requirements-integrations.txt
	[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r tools/requirements-dev.txt
	touch $@

# Virtualenvs of the systems we compare against: never next to our ddtrace.
.venv-ddtrace/.stamp: tools/requirements-ddtrace.txt tools/requirements-integrations.txt
	[ -x .venv-ddtrace/bin/python ] || $(PYTHON) -m venv .venv-ddtrace
	.venv-ddtrace/bin/python -m pip install -q -r tools/requirements-ddtrace.txt
	touch $@

.venv-otel/.stamp: tools/requirements-otel.txt tools/requirements-integrations.txt
	[ -x .venv-otel/bin/python ] || $(PYTHON) -m venv .venv-otel
	.venv-otel/bin/python -m pip install -q -r tools/requirements-otel.txt
	touch $@

peers: .venv-ddtrace/.stamp .venv-otel/.stamp

# `pip install .` into .venv, incremental thanks to a fixed meson build dir;
# installs the `ddtrace` module and the `ctrace-agent` command.
PIP_INSTALL_SELF = $(PY) -m pip install -q --no-build-isolation -Cbuild-dir=$(BUILD_DIR) $(BUILD_ARGS) .
build: deps
	$(PIP_INSTALL_SELF)

test-c: build
	$(VENV)/bin/meson test -C $(BUILD_DIR) --print-errorlogs

# Every Python test folder in one pytest process (pyproject's testpaths);
# PYTEST_ARGS narrows it, e.g. PYTEST_ARGS=tests/agent/test_agent_http.py.
PYTEST_RUN = $(PY) -m pytest -q --timeout=300 $(PYTEST_ARGS)
test-python: build peers
	$(PY) -m playwright --version >/dev/null
	$(PYTEST_RUN)

# The explorer's pure modules (format.js, trace_model.js) under node's own
# test runner, no browser; the pages themselves are tested in tests/ui.
test-js:
	node --test tests/ui/unit/*.test.mjs

# The edit-test loop: the JS unit tests, rebuild, the C tests, the Python
# tests; no apt step, no sanitizers, no valgrind (make test runs those, as
# CI does). It needs a .venv that `make build` made once (that run installs
# the system packages).
check: peers test-js
	@[ -f $(VENV)/.deps-stamp ] || { echo "make check: run make build once first"; exit 1; }
	$(PIP_INSTALL_SELF)
	$(VENV)/bin/meson test -C $(BUILD_DIR) --print-errorlogs
	$(PYTEST_RUN)

# Style, checked and applied: clang-format (.clang-format) over every C
# file, ESLint (.eslintrc.json) over the explorer's modules and their unit
# tests. Both are Debian's (tools/install-system-deps). ESLint's packages
# live in /usr/share/nodejs, where Debian's node looks and a node from
# elsewhere does not; its default output needs node-chalk, a mere
# Recommends, so it prints one file:line:column line per finding instead.
C_SOURCES  = $(shell find src include agent tests bench fuzz examples tools -name '*.[ch]' | sort)
JS_SOURCES = $(wildcard agent/ui/*.js tests/ui/unit/*.mjs)
ESLINT     = NODE_PATH=/usr/share/nodejs eslint --format unix
lint: $(VENV)/.system-stamp
	clang-format --dry-run -Werror $(C_SOURCES)
	$(ESLINT) $(JS_SOURCES)

format: $(VENV)/.system-stamp
	clang-format -i $(C_SOURCES)

# The C tests again, built with AddressSanitizer and UndefinedBehaviorSanitizer,
# the threaded ones and the agent's server with ThreadSanitizer: any finding
# fails the run.
SANITIZER_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
test-sanitizers: deps peers
	[ -d build/asan ] || $(VENV)/bin/meson setup build/asan -Db_sanitize=address,undefined -Dbuildtype=debug -Db_lundef=false
	$(VENV)/bin/meson compile -C build/asan
	$(SANITIZER_ENV) $(VENV)/bin/meson test -C build/asan --print-errorlogs
	[ -d build/tsan ] || $(VENV)/bin/meson setup build/tsan -Db_sanitize=thread -Dbuildtype=debug -Db_lundef=false -Dagent=false
	$(VENV)/bin/meson compile -C build/tsan test_threads test_agent_writer
	TSAN_OPTIONS=halt_on_error=1 $(VENV)/bin/meson test -C build/tsan --no-rebuild --print-errorlogs test_threads test_agent_writer
	@# ctrace-agent itself under ASan+UBSan, driven by every agent test
	[ -d build/agent-asan ] || $(VENV)/bin/meson setup build/agent-asan -Db_sanitize=address,undefined -Dbuildtype=debugoptimized -Dtracer=false -Dtests=false
	$(VENV)/bin/meson compile -C build/agent-asan
	CTRACE_AGENT=build/agent-asan/agent/ctrace-agent $(SANITIZER_ENV) \
	  $(PY) -m pytest -q --timeout=300 tests/agent
	@# ctrace-agent itself under ThreadSanitizer, driven by the agent tests
	@# that load it from many connections at once (conftest fails a test
	@# on any sanitizer report in the agent's output)
	[ -d build/agent-tsan ] || $(VENV)/bin/meson setup build/agent-tsan -Db_sanitize=thread -Dbuildtype=debugoptimized -Dtracer=false -Dtests=false
	$(VENV)/bin/meson compile -C build/agent-tsan
	CTRACE_AGENT=build/agent-tsan/agent/ctrace-agent TSAN_OPTIONS=halt_on_error=1 \
	  $(PY) -m pytest -q --timeout=300 tests/agent/test_agent_http.py \
	  tests/agent/test_agent_durability.py tests/agent/test_agent_load.py tests/agent/test_agent_ingest.py \
	  tests/agent/test_agent_slowloris.py

# The C example, the single-threaded C tests and the fuzz corpus replays
# under valgrind memcheck (about 20 s): errors and definite leaks fail.
test-valgrind: build
	$(VENV)/bin/meson test -C $(BUILD_DIR) --setup valgrind --suite valgrind --print-errorlogs

test: test-c test-js test-sanitizers test-valgrind test-python

# The wheel and the tracer's tests on CPython 3.9 to 3.13 (not in CI's run).
test-all-pythons: deps peers
	tools/test-all-pythons

demo: build
	@tools/demo $(AGENT_PORT)

stop:
	@tools/stop-agent

bench: build peers
	$(PY) bench/run.py

# Every libFuzzer target for FUZZ_SECONDS each (default 30): meson builds
# them in build/fuzz (-Dfuzz=true, clang, ASan+UBSan), tools/fuzz runs them.
FUZZ_SECONDS ?= 30
fuzz: deps
	tools/fuzz $(FUZZ_SECONDS)

clean:
	rm -rf build dist $(STATE_DIR)
