# The README's two commands: `make run` and `make test`. Both install what is
# missing first (`make install`: Debian packages, the venv, the Asterisk root).
CONFIG ?= callcenter.toml
PYTEST_ARGS ?=

.PHONY: install run cluster test bench

install:
	@bash scripts/install.sh

run: install
	@test -f $(CONFIG) || .venv/bin/callcenter init --config $(CONFIG)
	.venv/bin/callcenter serve --config $(CONFIG)

# The cluster demo: SERVERS `serve` processes behind nginx on [web] host:port,
# one Asterisk and one Redis (README "Running in production").
SERVERS ?= 2
cluster: install
	@test -f $(CONFIG) || .venv/bin/callcenter init --config $(CONFIG)
	.venv/bin/callcenter cluster --config $(CONFIG) --servers $(SERVERS)

test: install
	.venv/bin/python scripts/run_tests.py -- $(PYTEST_ARGS)

bench: install
	.venv/bin/python bench/ami_ingest.py
