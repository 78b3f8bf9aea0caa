# Python tools (reference model, converter, fixtures). Included by the top Makefile.
#   make test-tools   every tools/tests/test_*.py (prints SKIP and passes when torch is missing)
#   make fixtures     regenerate tests/fixtures/ from the reference (needs torch; CI does not run it)
PYTHON_TOOLS ?= /usr/bin/python3

.PHONY: test-tools fixtures
test-tools:
	@set -e; for t in tools/tests/test_*.py; do \
	    echo "  PYTEST  $$t"; PYTHONDONTWRITEBYTECODE=1 $(PYTHON_TOOLS) $$t; done

fixtures:
	PYTHONDONTWRITEBYTECODE=1 $(PYTHON_TOOLS) tools/make_fixtures.py --out tests/fixtures
