#!/usr/bin/env bash
# Run the quick mode of the benchmarks that use the models, effects, bounds, acquisition and
# campaign code in source tree TREE, and copy the result files each one wrote into OUT/<name>/.
# With two trees (before and after a refactor) the numbers are then compared exactly:
#   bash benchmarks/run_quick.sh /path/to/old-checkout /tmp/quick/before
#   bash benchmarks/run_quick.sh /path/to/new-checkout /tmp/quick/after
#   python benchmarks/compare_results.py /tmp/quick/before /tmp/quick/after
# PYTHON (default: python) runs each script with TREE/src first on the path. The tree's
# committed benchmarks/results are restored afterwards.
set -u
TREE=$(cd "$1" && pwd)
OUT=$2
PY=${PYTHON:-python}
mkdir -p "$OUT"
cd "$TREE"
for b in ihdp_effects dose_response causal_active cate_families hidden_confounding \
    ihdp_covariate_shift dose_response_sensitivity genedisco discobax_synthetic active_mnist \
    amm_digits batchgfn causal_design; do
  stamp=$(mktemp)
  sleep 1
  start=$(date +%s)
  OMP_NUM_THREADS=1 PYTHONPATH="$TREE/src" timeout 600 "$PY" -W ignore "benchmarks/$b.py" --quick \
    > "$OUT/$b.log" 2>&1
  echo "$b rc=$? wall=$(($(date +%s) - start))s" >> "$OUT/summary.txt"
  mkdir -p "$OUT/$b"
  find benchmarks/results -maxdepth 1 -newer "$stamp" -type f \( -name '*.json' -o -name '*.md' \) \
    -exec cp {} "$OUT/$b/" \;
  rm -f "$stamp"
done
git checkout -q -- benchmarks/results
git clean -qfd benchmarks/results
