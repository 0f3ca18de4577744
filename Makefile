# make demo: set up everything and run the main job on the lab.
# make test: set up everything and run every check and test.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
COLL_LINK := .collections/ansible_collections/pynomaly/incident_response
LAB := lab/labctl
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: help deps test-deps venv collection lab-up lab-down lab-status demo test lint sanity unit integration build clean

help:
	@echo "make demo   - venv + lab up + run the main job on the lab"
	@echo "make test   - venv + lab up + lint + sanity + unit and integration tests"
	@echo "make lab-down / lab-status / build / clean"

# System packages the lab needs (Debian): PostgreSQL server and client, Redis.
deps:
	@bash lab/install-deps.sh

# The tests also render the post-mortem page in headless Chromium (Debian's package).
test-deps:
	@LAB_WITH_CHROMIUM=1 bash lab/install-deps.sh

$(STAMP): requirements/runtime.txt requirements/dev.txt
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements/dev.txt
	@touch $@

venv: $(STAMP) collection

collection:
	@mkdir -p $(dir $(COLL_LINK))
	@test -L $(COLL_LINK) || ln -sfn ../../.. $(COLL_LINK)

lab-up: deps venv
	$(LAB) up
	@$(LAB) status

lab-down:
	$(LAB) down

lab-status:
	$(LAB) status

demo: lab-up
	@bash lab/demo.sh

lint: venv
	$(BIN)/ruff check .
	$(BIN)/yamllint -s .
	$(BIN)/ansible-lint --offline --profile production

sanity: venv
	@bash tests/sanity.sh

unit: venv
	$(BIN)/pytest -q tests/unit

integration: lab-up
	$(BIN)/pytest -q tests/integration

test: test-deps lab-up lint sanity
	$(BIN)/pytest -q -p no:cacheprovider tests/unit tests/integration

build: venv
	$(BIN)/ansible-galaxy collection build --force --output-path .build

clean: lab-down
	rm -rf $(VENV) .collections .sanity .build
