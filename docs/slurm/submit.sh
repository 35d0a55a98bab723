#!/bin/bash
# Grade a class on Slurm: an array of N grading tasks, then one merge once they all succeeded.
#
#   MHA_COURSE=/shared/mha-course SUBMISSIONS=/shared/term/01.zip OUT=/shared/term/grades-01 \
#       docs/slurm/submit.sh 8 [SBATCH OPTIONS ...]
#
# SBATCH OPTIONS (e.g. --partition=short --account=cs101 --cpus-per-task=2) go to both sbatch calls and win
# over the #SBATCH lines of the scripts. PYTHON, when set, is the Python that grades (default
# $MHA_COURSE/.venv/bin/python). Prints the two job ids; the grades are in $OUT/all/grades.csv when the merge
# job is done.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
tasks="${1:-4}"
shift || true
: "${SUBMISSIONS:?}" "${OUT:?}"
export MHA_COURSE="${MHA_COURSE:-$(cd "$here/../.." && pwd)}" SUBMISSIONS OUT
array=$(sbatch --parsable --export=ALL --array="0-$((tasks - 1))" "$@" "$here/grade-array.sbatch")
merge=$(sbatch --parsable --export=ALL --dependency="afterok:${array%%;*}" "$@" "$here/merge.sbatch")
echo "grading: job array $array ($tasks tasks); merge: job $merge -> $OUT/all/grades.csv"
