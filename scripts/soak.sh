#!/usr/bin/env bash
# Run a scenario N times in a row, each as its own `v6lab run`, and print every cell
# that was not as expected (connectivity.csv and reachability.csv, column
# as_expected), then how many runs had any. Not a test: a rate of rare failures.
#
#   scripts/soak.sh [N] [SCENARIO]        N defaults to 20, SCENARIO to the default city
#
# Each run takes the network lock (/tmp/v6lab-network.lock) for itself only, so that
# others sharing the machine get in between. Results go to $SOAK_RESULTS (default
# /tmp/v6lab-soak/<date>); the interpreter is $PYTHON (default .venv/bin/python).
set -u
cd "$(dirname "$0")/.."
runs=${1:-20}
scenario=${2:-scenarios/default-city.yaml}
python=${PYTHON:-.venv/bin/python}
results=${SOAK_RESULTS:-/tmp/v6lab-soak/$(date -u +%Y%m%dT%H%M%SZ)}
lock=${V6LAB_LOCK:-/tmp/v6lab-network.lock}
mkdir -p "$results"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

failed_runs=0
unexpected_total=0
for i in $(seq 1 "$runs"); do
    log="$results/run-$i.log"
    flock "$lock" "$python" -m simulator run "$scenario" --results "$results" --quiet >"$log" 2>&1
    status=$?
    folder=$(sed -n 's/^results: //p' "$log" | tail -1)
    if [ -z "$folder" ] || [ ! -d "$folder" ]; then
        # A run that failed before it wrote its measurements says why in its log.
        folder=$(ls -dt "$results"/*/*/ 2>/dev/null | head -1)
    fi
    unexpected=$("$python" - "$folder" <<'PY'
import csv, pathlib, sys
folder = pathlib.Path(sys.argv[1])
for name, key in (("connectivity.csv", ("client", "service", "family", "method")),
                  ("reachability.csv", ("source", "destination", "family"))):
    path = folder / name
    if not path.exists():
        continue
    with open(path, newline="") as rows:
        for row in csv.DictReader(rows):
            if row["as_expected"] != "True":
                what = " ".join(row[k] for k in key)
                print(f"  {name.split('.')[0]}: {what}: expected {row['expected']}, ok {row['ok']}"
                      f"{', rtt ' + row['rtt_ms'] + ' ms' if row.get('rtt_ms') else ''}: {row['error']}")
PY
)
    count=$(printf '%s' "$unexpected" | grep -c . || true)
    echo "run $i/$runs: exit $status, $count unexpected, ${folder:-no results folder}"
    [ -n "$unexpected" ] && echo "$unexpected"
    if [ "$status" -ne 0 ] && [ "$count" -eq 0 ]; then
        tail -3 "$log" | sed 's/^/  /'
    fi
    if [ "$status" -ne 0 ] || [ "$count" -gt 0 ]; then
        failed_runs=$((failed_runs + 1))
    fi
    unexpected_total=$((unexpected_total + count))
done
echo "soak: $failed_runs of $runs runs had a failure or an unexpected cell; $unexpected_total unexpected cells in all"
echo "results and logs: $results"
[ "$failed_runs" -eq 0 ]
