#!/bin/sh
# tests/mcu_size.sh DIR TARGET... — the size table of make size-mcu, from the linked ELFs:
#   core code   code bytes (__flash .. __text_end, picolibc's script) of DIR/core_T.elf: the firmware
#               with printf compiled out, so the kernels the model uses, the generated model code,
#               the sampler, libm and startup; unused kernels are dropped by --gc-sections
#   ck_* part   of that, the bytes of ckernel.h's functions and main (the generated model code is
#               inlined into it); the rest is libm (rope cache, expf, sqrtf), soft double, startup
#   with printf code bytes of the firmware as run by make test-mcu (adds picolibc's printf)
#   weights     the const array in flash (ckgen --weights-c); arena: the static state region
set -e
dir=$1; shift
hex() { printf '%d' "0x$1"; }
sym() { "$nm" "$1" | awk -v s="$2" '$3 == s { print $1 }'; }
code() { echo $(( $(hex "$(sym "$1" __text_end)") - $(hex "$(sym "$1" __flash)") )); }
symsize() { "$nm" -S "$1" | awk -v s="$2" '$4 == s { print $2 }'; }
echo "| target | core code | ck_* part | with printf | weights (flash) | arena (RAM) |"
echo "|---|---:|---:|---:|---:|---:|"
for t in "$@"; do
  case $t in rv32) nm=riscv64-unknown-elf-nm; name="RV32 rv32imafc (virt)";; m55) nm=arm-none-eabi-nm; name="Cortex-M55 + Helium (mps3-an547)";;
             *) nm=arm-none-eabi-nm; name="Cortex-M4F (mps2-an386)";; esac
  core=$dir/core_$t.elf; fw=$dir/fw_$t.elf
  ck=$(( $("$nm" -S "$core" | awk '($3 == "T" || $3 == "t") && ($4 ~ /^(ck_|ck__|mcumodel_|main$)/) && ($4 !~ /_weights_data$/) { printf "0x%s+", $2 } END { print 0 }') ))
  echo "| $name | $(code "$core") | $ck | $(code "$fw") | $(hex "$(symsize "$core" mcumodel_weights_data)") | $(hex "$(symsize "$core" fw_arena)") |"
done
