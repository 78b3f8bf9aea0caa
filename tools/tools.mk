# Python tools (reference model, converter, fixtures). Included by the top Makefile.
#   make test-tools   every tools/tests/test_*.py (prints SKIP and passes when torch is missing)
#   make fixtures     regenerate tests/fixtures/ from the reference (needs torch; CI does not run it)
#                     FIXTURES_ONLY=tiny|r50|synth regenerates one of them
PYTHON_TOOLS ?= /usr/bin/python3
FIXTURES_ONLY ?=

.PHONY: test-tools fixtures
test-tools:
	@set -e; for t in tools/tests/test_*.py; do \
	    echo "  PYTEST  $$t"; PYTHONDONTWRITEBYTECODE=1 $(PYTHON_TOOLS) $$t; done

# The synth fixture's frames come from the C generator itself (tools/synth_frames.c).
$(B)/tools/synth_frames: tools/synth_frames.c $(B)/libpcan.a
	@mkdir -p $(@D)
	@echo "  CC/LD   $<"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(B)/libpcan.a $(LDLIBS)

fixtures: $(B)/tools/synth_frames
	PYTHONDONTWRITEBYTECODE=1 $(PYTHON_TOOLS) tools/make_fixtures.py --out tests/fixtures \
	    --synth-frames $(B)/tools/synth_frames $(if $(FIXTURES_ONLY),--only $(FIXTURES_ONLY))
