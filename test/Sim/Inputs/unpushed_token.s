  load dram=0 chip=0 size=16 dstride=1 cstride=1
  gemm a=0 lda=16 b=0x100 ldb=16 c=ACC ldc=16 m=16 k=16 n=16 deps=pop_prev
  finish
