# Two entry points, both starting from nothing but python3:
#   make demo   - create .venv, install, run the main job on bundled real data
#   make test   - create .venv, install with the test extra, run the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: install demo test bench docs clean clean-cache

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[test,plot,docs,dask,batch]'
	touch $@

demo: install
	$(BIN)/dalec-mdf demo --out out/demo

test: install
	$(BIN)/python -m pytest -q

docs: install
	$(BIN)/sphinx-build -W -b html docs docs/_build

bench: install
	$(BIN)/python benchmarks/forward.py

clean: clean-cache
	rm -rf $(VENV) out .pytest_cache

# numba's on-disk cache (cache=True) is keyed on each function's own source file only: after
# a change to a function that another file's compiled function calls, the caller's cache is
# stale. Clear it after updating a source checkout.
clean-cache:
	find dalec mdf drivers benchmarks -name '*.nbi' -delete -o -name '*.nbc' -delete
