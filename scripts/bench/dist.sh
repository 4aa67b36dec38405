#!/bin/sh
# Data-parallel training of the MNIST CNN: one process with 2 threads against
# `mpirun -np 2` with 1 thread per rank (the same total threads), same data,
# same batch size (128 global), 2 epochs each.
BUILD=${1:-build}
if ! command -v mpirun >/dev/null 2>&1; then echo "SKIP dist: mpirun is not installed"; exit 0; fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader
echo "MNIST CNN, 8,000 digits, batch 128, 2 epochs"
"$BUILD/mlrun" --threads 2 scripts/bench/dist/cnn.lua 2 || exit 1
mpirun --oversubscribe -np 2 "$BUILD/mlrun" --threads 1 scripts/bench/dist/cnn.lua 2 distributed || exit 1
"$BUILD/mlrun" scripts/bench/dist/sweep.lua
