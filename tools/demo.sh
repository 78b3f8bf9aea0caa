#!/bin/bash
# make demo: install what is missing, build, generate a held-out synthetic dataset, run the demo
# job on 2 MPI ranks (it prints the metrics table and writes build/demo/demo.report.json) and
# render one video. Run from the repository root.
set -euo pipefail
make deps
make -j2
out=build/demo
if [ ! -s models/pcan-synth-small.h5 ]; then
    echo "demo: models/pcan-synth-small.h5 is missing" >&2
    exit 2
fi
rm -rf "$out"
mkdir -p "$out"
# seed 2026 is not used for training (tools/train/ and models/MODEL_CARD.md list the seeds)
bin/pcan synth --out "$out/data" --videos 8 --frames 60 --seed 2026 --difficulty normal \
    --size 320x192
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_mpi_yield_when_idle=1
bin/pcan check --quiet jobs/demo.yaml
mpirun --oversubscribe -np 2 bin/pcan run jobs/demo.yaml
bin/pcan render "$out/demo.h5" --video 0000 --out "$out/0000.mp4" --contact-sheet "$out/0000.png"
echo
echo "demo: archive $out/demo.h5 (bin/pcan info $out/demo.h5), metrics $out/demo.report.json (and /metrics);"
echo "demo: rendered $out/0000.mp4 and $out/0000.png"
