#!/bin/bash
# One call on a GPU machine without network or Jupyter: the measurements the course needs there.
#
# Before the call, on the CPU side (see book/results/README.md):
#   echo /.gpu/ >> .git/info/exclude
#   mkdir -p .gpu && cp ../shared/data/cifar10-jpeg.npz ../shared/data/cifar10_pack.py .gpu/
#   .venv/bin/python scripts/run_chapters.py scripts --out .gpu/chapters
# rehearse the chapters step there (scripts/run_chapters.py's docstring: tiny-data, then run
# --preset gpu --stand-ins-first), and carry .gpu. Then, there:
#   bash scripts/gpu_session.sh COMMIT STEPS
# STEPS is a comma-separated choice of: chapters (the whole book under the gpu preset, stopped
# after CHAPTER_BUDGET seconds, 520 unless set: with the unpacking, under nine minutes; only
# the chapters named in CHAPTERS, such as ch02,ch08, if set),
# bench (bench_gpu_training for ResNet-20/56/110), runs:PLAN[:BUDGET] (scripts/gpu_runs.py).
# Everything it produces goes to $OUT: at most 8 files come back, so the stored runs travel as
# one tar file, to be unpacked into the checkout and committed unchanged.
set -u
export PYTHONUNBUFFERED=1
commit=$1
steps=$2
cd "$(dirname "$0")/.." || exit 1
data=/tmp/cifar10
note="CIFAR-10, JPEG copy (60,000 images re-encoded as JPEG, about 900 bytes each), unpacked into an ImageFolder tree"
python3 .gpu/cifar10_pack.py unpack .gpu/cifar10-jpeg.npz "$data" || exit 1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$OUT/gpu.txt" 2>&1
# The call's exit status says whether every chapter ran (the other steps report in their files).
status=0
for step in ${steps//,/ }; do
    case $step in
    chapters)
        python3 scripts/run_chapters.py run --scripts .gpu/chapters --log-dir "$OUT" \
            --preset gpu --data "$data" --data-note "$note" --commit "$commit" \
            --budget "${CHAPTER_BUDGET:-520}" \
            ${CHAPTERS:+--only "$CHAPTERS"} || status=1
        ;;
    bench)
        timeout "${BENCH_BUDGET:-240}" python3 benchmarks/bench_gpu_training.py --data "$data" \
            --models resnet20,resnet56,resnet110 --contenders plain,train\(\) 2>&1 \
            | grep -v Warn | tee "$OUT/bench_gpu_training.txt"
        ;;
    runs:*)
        IFS=: read -r _ plan budget <<< "$step"
        python3 scripts/gpu_runs.py --data "$data" --data-note "$note" --plan "$plan" \
            --parallel 5 --budget "${budget:-300}" --commit "$commit" 2>&1 | tee -a "$OUT/gpu_runs.txt"
        tar cf "$OUT/results.tar" --exclude='*.pt' book/results
        ;;
    *)
        echo "unknown step $step"
        status=1
        ;;
    esac
done
exit $status
