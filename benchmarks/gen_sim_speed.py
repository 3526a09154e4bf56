#!/usr/bin/env python3
"""Writes the simulator speed benchmark programs (see sim_speed.sh).

loop.s:     a double-buffered load/GEMM/store loop run ITER times by the
            scalar core (8 instructions per iteration: 6 queue instructions
            with dependency tokens, 2 scalar) -> ~8 x ITER dynamic
            instructions from a tiny program.
unrolled.s: the same work fully unrolled into N_STATIC static instructions,
            so loading and decoding a large program is measured too.
"""
import sys


def body(base_expr, tile):
    return [
        f"  load {base_expr}dram={tile * 4096} chip=0x8000 size=16 dstride=1 cstride=1 deps=pop_next|push_next",
        f"  load {base_expr}dram={tile * 4096 + 4096} chip=0x10000 size=16 dstride=1 cstride=1 deps=pop_next|push_next",
        "  gemm a=0x8000 lda=16 c=ACC ldc=16 m=64 k=16 n=16 keep=1 deps=pop_prev|pop_next|push_prev|push_next",
        f"  store {base_expr}dram={0x40000000 + tile * 4096} chip=ACC size=16 dstride=1 cstride=1 deps=pop_prev|push_prev",
        "  gemm a=0x10000 lda=16 c=ACC+0x8000 ldc=16 m=64 k=16 n=16 keep=1 deps=pop_prev|pop_next|push_prev|push_next",
        f"  store {base_expr}dram={0x40000000 + tile * 4096 + 4096} chip=ACC+0x8000 size=16 dstride=1 cstride=1 deps=pop_prev|push_prev",
    ]


PROLOGUE = """
  load dram=0x20000000 chip=0 size=256 dstride=1 cstride=1 deps=push_next
  gemm a=0x18000 lda=16 b=0 ldb=16 c=ACC+0xf000 ldc=16 m=1 k=16 n=16 deps=pop_prev|push_prev
  vec.fill rows=1 cols=1 d=ACC+0xf000 deps=push_prev
  store dram=0x30000000 chip=ACC+0xf000 size=1 dstride=1 cstride=1 deps=push_prev
  store dram=0x30000000 chip=ACC+0xf000 size=1 dstride=1 cstride=1 deps=push_prev
  dmacfg.load.d12 size_a=64 dstride_a=16 cstride_a=16
  dmacfg.store.d12 size_a=64 dstride_a=16 cstride_a=16
"""

EPILOGUE = """
  dmacfg.load.d12
  load dram=0x30000000 chip=0x18000 size=1 dstride=1 cstride=1 deps=pop_next
  load dram=0x30000000 chip=0x18000 size=1 dstride=1 cstride=1 deps=pop_next
  vec.fill rows=1 cols=1 d=ACC+0xf000 deps=pop_next
  vec.fill rows=1 cols=1 d=ACC+0xf000 deps=pop_next
  finish
"""


def main():
    out_dir, iters, n_static = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    with open(f"{out_dir}/loop.s", "w") as f:
        f.write(".phase forward\n" + PROLOGUE)
        f.write(f"  sopi.add rd=r1 imm=0\n  sopi.add rd=r2 imm={iters}*8192\n")
        f.write("loop:\n" + "\n".join(body("dram_reg=r1 ", 0)) + "\n")
        f.write("  sopi.add rd=r1 rs1=r1 imm=8192\n")
        f.write("  br.lt rs1=r1 rs2=r2 target=loop\n" + EPILOGUE)
    with open(f"{out_dir}/unrolled.s", "w") as f:
        f.write(".phase forward\n" + PROLOGUE)
        tiles = n_static // 6
        for t in range(tiles):
            # Wrap DRAM addresses so they stay in the 16 GiB default DRAM.
            f.write("\n".join(body("", (2 * t) % 100000)) + "\n")
        f.write(EPILOGUE)


if __name__ == "__main__":
    main()
