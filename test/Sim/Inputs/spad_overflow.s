  nop
  load dram=0 chip=0x1fff0 size=32 dstride=1 cstride=1
  finish
