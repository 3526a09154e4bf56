# gemm_loop.s - a double-buffered GEMM loop driven by the scalar core.
#
# C[t] = A[t] x W for 32 tiles t, each A[t] a [64 x 16] row block and W a
# [16 x 16] weight matrix kept in the array (keep=1). The loop body handles
# two tiles (ping and pong buffers); a base register steps through DRAM so
# the program stays small however many tiles there are.
#
# Dependency tokens (VTA style):
#   load  --push_next-->  execute   "input buffer filled"
#   exec  --push_prev-->  load      "input buffer free again"
#   exec  --push_next-->  store     "output buffer filled"
#   store --push_prev-->  execute   "output buffer free again"
# The prologue primes two "free" tokens per direction and the epilogue
# consumes the two left over, so every token pushed is popped.

.equ A      0x0            # DRAM: 32 x [64 x 16] fp32 input tiles
.equ W      0x100000       # DRAM: [16 x 16] weights
.equ C      0x200000       # DRAM: 32 x [64 x 16] outputs
.equ SCRATCH_DRAM 0x300000
.equ TILE_BYTES 4096       # 64 x 16 x 4
.equ TILES 32
.equ WB   0x0              # SPAD: weights
.equ BUF0 0x8000           # SPAD bank 1: input ping
.equ BUF1 0x10000          # SPAD bank 2: input pong
.equ ZERO 0x18000          # SPAD: a zero row for the weight preload
.equ OUT0 ACC+0x0          # ACC: output ping
.equ OUT1 ACC+0x8000       # ACC: output pong
.equ SCR  ACC+0xf000       # ACC: scratch

.phase forward
  load dram=W chip=WB size=256 dstride=1 cstride=1 deps=push_next
  # Preload the weights into the array with a one-row GEMM; it also frees
  # input buffer 0 (push_prev) for the first load.
  gemm a=ZERO lda=16 b=WB ldb=16 c=SCR ldc=16 m=1 k=16 n=16 deps=pop_prev|push_prev
  vec.fill rows=1 cols=1 d=SCR imm=0 deps=push_prev     # frees input buffer 1
  # Both output buffers start free: two store-side tokens.
  store dram=SCRATCH_DRAM chip=SCR size=1 dstride=1 cstride=1 deps=push_prev
  store dram=SCRATCH_DRAM chip=SCR size=1 dstride=1 cstride=1 deps=push_prev
  # Tile shapes from here on: 64 rows of 16 contiguous elements on both
  # sides (DMACFG registers persist until rewritten).
  dmacfg.load.d12 size_a=64 dstride_a=16 cstride_a=16
  dmacfg.store.d12 size_a=64 dstride_a=16 cstride_a=16

.phase control
  sopi.add rd=r1 imm=0                      # r1: byte offset of the tile pair
  sopi.add rd=r2 imm=TILES*TILE_BYTES       # loop bound
loop:
  load dram_reg=r1 dram=A chip=BUF0 size=16 dstride=1 cstride=1 deps=pop_next|push_next phase=forward
  load dram_reg=r1 dram=A+TILE_BYTES chip=BUF1 size=16 dstride=1 cstride=1 deps=pop_next|push_next phase=forward
  gemm a=BUF0 lda=16 c=OUT0 ldc=16 m=64 k=16 n=16 keep=1 deps=pop_prev|pop_next|push_prev|push_next phase=forward
  store dram_reg=r1 dram=C chip=OUT0 size=16 dstride=1 cstride=1 deps=pop_prev|push_prev phase=forward
  gemm a=BUF1 lda=16 c=OUT1 ldc=16 m=64 k=16 n=16 keep=1 deps=pop_prev|pop_next|push_prev|push_next phase=forward
  store dram_reg=r1 dram=C+TILE_BYTES chip=OUT1 size=16 dstride=1 cstride=1 deps=pop_prev|push_prev phase=forward
  sopi.add rd=r1 rs1=r1 imm=2*TILE_BYTES
  br.lt rs1=r1 rs2=r2 target=loop

  # Epilogue: consume the two "free" tokens each direction has left, with
  # one-element transfers (reset the load descriptor to 1-D first).
  dmacfg.load.d12
  load dram=SCRATCH_DRAM chip=ZERO+16 size=1 dstride=1 cstride=1 deps=pop_next
  load dram=SCRATCH_DRAM chip=ZERO+16 size=1 dstride=1 cstride=1 deps=pop_next
  vec.fill rows=1 cols=1 d=SCR imm=0 deps=pop_next
  vec.fill rows=1 cols=1 d=SCR imm=0 deps=pop_next
  finish

# A few non-zero inputs and an identity-like weight matrix so the result is
# easy to check: W = 2 x I, so C = 2 x A.
.data W f32 2 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
.data W+68 f32 2
.data W+136 f32 2
.data W+204 f32 2
.data W+272 f32 2
.data W+340 f32 2
.data W+408 f32 2
.data W+476 f32 2
.data W+544 f32 2
.data W+612 f32 2
.data W+680 f32 2
.data W+748 f32 2
.data W+816 f32 2
.data W+884 f32 2
.data W+952 f32 2
.data W+1020 f32 2
.data A f32 1.5 -2 0.25
.data A+31*TILE_BYTES+4092 f32 3
