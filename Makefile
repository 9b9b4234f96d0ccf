# The README's commands. Each creates (once) and reuses .venv.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

LAB_STAMP := $(VENV)/.lab-installed
KERNEL := keras-seq-course
LAB_ARGS ?=

.PHONY: demo compare test bench lab clean site browser

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[cpu,test]"
	touch $(STAMP)

demo: $(STAMP)  ## the main job: build the student notebooks, grade the example submissions
	$(BIN)/autograder assign
	$(BIN)/autograder grade examples/submissions/*.ipynb --out grading-out --timeout 10

$(LAB_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[cpu,lab]"
	$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python ($(KERNEL))"
	touch $(LAB_STAMP)

lab: $(LAB_STAMP)  ## JupyterLab on the student notebooks, with the course's kernel (no Colab needed)
	TF_CPP_MIN_LOG_LEVEL=2 $(BIN)/jupyter lab --ServerApp.root_dir=notebooks --MappingKernelManager.default_kernel_name=$(KERNEL) \
		$(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

compare: $(STAMP)  ## our tf.scan layers beside Keras' own
	TF_CPP_MIN_LOG_LEVEL=2 $(BIN)/python -m course.demo

test: $(STAMP) browser  ## the linter, then the whole test suite (what CI runs)
	$(BIN)/ruff check
	TF_CPP_MIN_LOG_LEVEL=2 $(BIN)/python -m pytest -q

browser:  ## Chromium and its WebDriver for the pages' browser test (Debian packages, installed when root and missing)
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		(apt-get update -qq && apt-get install -y -qq chromium chromium-driver) || \
			echo "could not install chromium and chromium-driver: the browser test of tests/site will skip"; \
	else echo "chromium and chromedriver are missing and cannot be installed here (needs root and apt-get):"; \
		echo "the browser test of tests/site will skip"; fi

site: $(STAMP) browser  ## the reference lessons, executed (cached in build/executed), as web pages in build/site (MathJax beside them)
	TF_CPP_MIN_LOG_LEVEL=2 $(BIN)/python tools/build_site.py --out build/site
	TF_CPP_MIN_LOG_LEVEL=2 $(BIN)/python -m pytest -q tests/site

bench: $(STAMP)
	TF_CPP_MIN_LOG_LEVEL=2 $(BIN)/python bench/cells.py

clean:
	rm -rf $(VENV) build *.egg-info
