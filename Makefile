# The README's commands. Each creates (once) and reuses .venv.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

LAB_STAMP := $(VENV)/.lab-installed
KERNEL := keras-seq-course
LAB_ARGS ?=

.PHONY: demo compare test bench lab clean

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

test: $(STAMP)  ## the whole test suite (what CI runs)
	TF_CPP_MIN_LOG_LEVEL=2 $(BIN)/python -m pytest -q

bench: $(STAMP)
	TF_CPP_MIN_LOG_LEVEL=2 $(BIN)/python bench/cells.py

clean:
	rm -rf $(VENV) build *.egg-info
