  load dram=0x0 chip=0 size=4 dstride=1 cstride=1 deps=push_next
  vec.muli rows=1 cols=4 d=0x10 d_cs=1 a=0 a_cs=1 imm=2 deps=pop_prev|push_next
  store dram=0x100 chip=0x10 size=4 dstride=1 cstride=1 deps=pop_prev
  finish
