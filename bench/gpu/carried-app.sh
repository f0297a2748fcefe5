# Sourced by the bench/gpu/issue15*.sh scripts on the GPU machine: unpacks the kit and puts the
# server jar and bench classes built on the development machine in place (server/target there may
# be rebuilt by someone else meanwhile, so they travel inside .devcarry), and samples the GPU.
# use_carried_app DIR: logs to DIR/unpack.log, copies BUILD_INFO to DIR, sets COMMIT; fails if the
# kit does not unpack (the log is printed).
use_carried_app() {
  local dir=$1
  bash /root/kit/unpack.sh > "$dir/unpack.log" 2>&1 || { cat "$dir/unpack.log"; return 1; }
  mkdir -p server/target
  cp .devcarry/app/tandem.jar server/target/tandem.jar
  rm -rf server/target/test-classes && cp -r .devcarry/test-classes server/target/test-classes
  cp .devcarry/app/BUILD_INFO "$dir/" 2>/dev/null
  COMMIT=$(head -1 .devcarry/app/BUILD_INFO 2>/dev/null | cut -c1-7)
}

# sample_gpu DIR: nvidia-smi's state to DIR/smi-start.txt, then memory and utilisation every 0.2 s
# appended to DIR/smi.csv (bench/gpu/smi_phases.py reads it) until $SMI, its pid, is killed.
sample_gpu() {
  nvidia-smi > "$1/smi-start.txt" 2>&1
  nvidia-smi --query-gpu=timestamp,memory.used,utilization.gpu --format=csv -lms 200 >> "$1/smi.csv" 2>&1 &
  SMI=$!
}
