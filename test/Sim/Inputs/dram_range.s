  load dram=0xfffffffffc size=2 dstride=1 cstride=1
  finish
