# Everything runs inside .venv, made on first use from pyproject.toml.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
FTRL := $(VENV)/bin/ftrl
SAMPLES := data/samples
OUT := out

.PHONY: install demo test test-browser fuzz bench bench-4m lint samples clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

demo: install
	@mkdir -p $(OUT)
	$(FTRL) train $(SAMPLES)/train.vw -o $(OUT)/demo.parquet --learning-rate 0.1 --passes 2
	$(FTRL) predict -m $(OUT)/demo.parquet $(SAMPLES)/test.vw -o $(OUT)/demo.predictions
	$(FTRL) evaluate -m $(OUT)/demo.parquet $(SAMPLES)/test.vw --plot $(OUT)/report.html
	@echo "evaluation report: $(OUT)/report.html"

test: install
	KERAS_BACKEND=numpy $(PY) -m pytest -q

# the readers' fuzz tests with many more examples than the test suite runs
fuzz: install
	HYPOTHESIS_PROFILE=fuzz KERAS_BACKEND=numpy $(PY) -m pytest -q tests/test_fuzz_readers.py

# The HTML report in headless Chromium: playwright, and a Chromium (Debian's package when
# apt can install it, else playwright's own download).
test-browser: install
	$(PY) -m pip install -q playwright
	command -v chromium-headless-shell >/dev/null || command -v chromium >/dev/null || \
		apt-get install -y -q chromium-headless-shell || $(PY) -m playwright install chromium
	KERAS_BACKEND=numpy $(PY) -m pytest -q tests/test_report_browser.py

bench: install
	$(PY) -m pip install -q -e '.[bench]'
	$(PY) -m bench.run

# The tools compared on 4M rows (issue #14's 4M-row targets); its section joins the report of
# the default run, before or after it.
bench-4m: install
	$(PY) -m pip install -q -e '.[bench]'
	BENCH_ROWS=4000000 BENCH_ONLY=main,memory $(PY) -m bench.run

lint: install
	$(VENV)/bin/ruff check ftrl_cli tests bench

samples: install
	$(PY) -m ftrl_cli.datagen samples $(SAMPLES)

clean:
	rm -rf $(OUT) .pytest_cache
