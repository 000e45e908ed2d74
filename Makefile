# The book's commands. `make book` and `make test` are all a newcomer needs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
LIB := $(shell find lib/companion -name '*.py')
BOOK_SOURCES := $(wildcard book/*.md book/*.yml book/*.bib book/_static/*) _config.yml _toc.yml
FULL_RESULTS := $(shell find results/full results/bench -type f 2>/dev/null)
PROFILE ?= quick
DEVICE ?= auto
SEED ?= 0
CHAPTERS ?=
# Chapters executed at once before the book build (one kernel and one torch thread each).
JOBS ?= $(shell nproc 2>/dev/null || echo 1)

# A kernel that inherits MPLBACKEND=Agg silently drops every inline figure.
unexport MPLBACKEND
# The book and its tests show the quick profile on the CPU, even on a machine with a GPU, with one BLAS
# thread per process: several chapters run at once, and BLAS threads that outnumber the cores busy-wait.
QUICK_ON_CPU := CUDA_VISIBLE_DEVICES= OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
# A second CPU kernel path, on which `make test` runs the reference notebooks once more: torch's unvectorised
# kernels, NumPy without its AVX2 and AVX-512 loops, OpenBLAS, MKL and oneDNN on older instruction sets. What the
# chapters print must not depend on one processor's rounding (companion.core.printed says how it is compared).
OTHER_KERNELS := ATEN_CPU_CAPABILITY=default NPY_DISABLE_CPU_FEATURES="X86_V3 X86_V4 AVX512_ICL AVX512_SPR" \
	OPENBLAS_CORETYPE=Sandybridge MKL_ENABLE_INSTRUCTIONS=AVX ONEDNN_MAX_CPU_ISA=AVX2
NBVAL := --nbval --nbval-current-env --nbval-cell-timeout 600
# Every build of the book fails on any warning and checks every reference (`make bench` reads this line too).
JB_FLAGS := --warningiserror --nitpick --keep-going

.PHONY: setup book student chapter test test-unit test-other-kernels lint references reproduce sweep bench clean

setup: $(INSTALLED)

$(INSTALLED): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11 or newer is needed")'
	@# (re)create the venv when it is missing or half-made (no pip); never clear another environment
	$(BIN)/python -m pip --version >/dev/null 2>&1 || \
		$(PYTHON) -m venv $(if $(filter .venv,$(VENV)),--clear,) $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[book]"
	touch $@

# jupyter-cache keys only on a notebook's code: a change in lib/ (or in the environment) must
# invalidate the cached executions and the parsed pages, or the book shows stale outputs.
_build/.lib-stamp: $(LIB) $(INSTALLED)
	rm -rf _build/.jupyter_cache _build/.doctrees
	mkdir -p _build && touch $@

_build/.book-stamp: _build/.lib-stamp $(BOOK_SOURCES) $(FULL_RESULTS)
	@# the Claims page reads results/quick, written when chapters execute: without it, re-execute them
	ls results/quick/*/seed-0/claims.json >/dev/null 2>&1 || rm -rf _build/.jupyter_cache _build/.doctrees
	@# Jupyter Book executes chapters one at a time: run the stale ones $(JOBS) at once into its cache first
	$(QUICK_ON_CPU) $(BIN)/python -m companion prebuild --cache _build/.jupyter_cache --jobs $(JOBS)
	$(QUICK_ON_CPU) $(BIN)/jupyter-book build . $(JB_FLAGS)
	touch $@

book: _build/.book-stamp
	@echo "book: _build/html/index.html"

# The student edition: the same pages without the exercises' solutions (and without the page
# sources and notebook downloads, which hold them), and the chapters' sources without solutions
# in _build/student/chapters to hand out. It reuses the book's execution cache.
student: _build/.student-stamp

_build/.student-stamp: _build/.book-stamp
	$(BIN)/python -m companion student _build/student-config.yml _build/student/chapters
	$(QUICK_ON_CPU) $(BIN)/jupyter-book build . --config _build/student-config.yml --path-output _build/student \
		$(JB_FLAGS)
	touch $@

lint: $(INSTALLED)
	$(BIN)/ruff check lib tests

test: book student lint
	@# JOBS test processes; each notebook's cells (and each test module) stay together in one of them
	$(QUICK_ON_CPU) $(BIN)/pytest -n $(JOBS) --dist loadscope tests $(NBVAL)
	$(MAKE) test-other-kernels

# The library's unit tests alone, without a book build (under a minute): tests/unit.
test-unit: $(INSTALLED)
	$(QUICK_ON_CPU) $(BIN)/pytest -n $(JOBS) --dist loadscope tests/unit

# The reference notebooks on the second kernel path (OTHER_KERNELS): exact cells to the letter, numbers from
# training within their bands over seeds, as on the first.
test-other-kernels: $(INSTALLED)
	$(QUICK_ON_CPU) $(OTHER_KERNELS) $(BIN)/pytest -n $(JOBS) --dist loadscope tests/notebooks $(NBVAL)

references: $(INSTALLED)
	$(QUICK_ON_CPU) $(BIN)/python -m companion reproduce --profile quick --device cpu --out tests/notebooks

# One chapter, with papermill's progress bar: make chapter NAME=sgd-vs-gd PROFILE=full DEVICE=cuda
chapter: $(INSTALLED)
	@test -n "$(NAME)" || { echo "usage: make chapter NAME=<chapter> [PROFILE=quick|full] [DEVICE=auto|cpu|cuda] [SEED=0]"; \
		echo "chapters:" $$($(BIN)/python -m companion chapters); exit 2; }
	$(BIN)/python -m companion reproduce --profile $(PROFILE) --device $(DEVICE) --seed $(SEED) \
		--chapters $(NAME)

reproduce: $(INSTALLED)
	$(BIN)/python -m companion reproduce --profile $(PROFILE) --device $(DEVICE) --seed $(SEED) \
		$(if $(CHAPTERS),--chapters $(CHAPTERS))

# A seed sweep, aggregated into each chapter's envelope: make sweep SEEDS=0-4 [PROFILE=full DEVICE=cuda] [CHAPTERS=a,b]
# [JOBS=2] [RERUN=1]. Resumable: seeds whose results exist are skipped, unless RERUN=1 (after a chapter's code changed). On a Slurm cluster, see the README.
SEEDS ?= 0-4
sweep: $(INSTALLED)
	$(if $(filter quick,$(PROFILE)),$(QUICK_ON_CPU)) $(BIN)/python -m companion sweep --seeds $(SEEDS) \
		--jobs $(JOBS) --profile $(PROFILE) --device $(DEVICE) $(if $(CHAPTERS),--chapters $(CHAPTERS)) \
		$(if $(RERUN),--rerun)

# Quick-profile timings on this machine (each chapter alone, then a cold and a warm book build), for the
# Reproducing page: results/bench/quick.json. About three times the book's own build time.
bench: $(INSTALLED)
	$(QUICK_ON_CPU) $(BIN)/python -m companion bench --jobs $(JOBS) --out results/bench/quick.json

clean:  # the committed envelopes (results/quick/*/envelope.*) stay
	rm -rf _build results/quick/*/seed-*
