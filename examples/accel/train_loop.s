# train_loop.s - a training schedule run entirely on the device.
#
# A linear classifier (16 features -> 10 classes, batch 16) trained with SGD
# for EPOCHS epochs. The host supplies batches with RECV until it signals the
# end of an epoch (count 0). Every 4th batch takes an ADA-GP-style "GP" path:
# the backward GEMM is skipped and the weights are updated with the last
# measured gradient (a stand-in for a predictor's output), chosen on the
# device from the batch counter. After each batch the loss computed by the
# vector unit is read back with a fence + scalar load and sent to the host.
#
# Run with a host that serves 16-sample batches, e.g.
#   adagp-sim train_loop.s --batches 8 --batch-size 16 --classes 10

.equ EPOCHS 2
.equ X    0x100000     # DRAM: batch inputs [16][16] fp32 (host writes)
.equ Y    0x101000     # DRAM: labels [16] int32 (host writes)
.equ WD   0x200000     # DRAM: weights [16][10]
.equ HPD  0x300000     # DRAM: optimizer hyper-parameters
.equ XS   0x0          # SPAD: X tile
.equ YS   0x100        # SPAD: labels
.equ WS   0x200        # SPAD: weights, row stride 10
.equ GS   0x400        # SPAD: dLoss/dlogits [16][10]
.equ LOSS 0x500        # SPAD: mean loss, number correct
.equ HP   0x600        # SPAD: hyper-parameter block (9 words)
.equ PRED 0x700        # SPAD: last measured gradient (the "prediction")
.equ LOGITS ACC+0x0    # ACC: logits [16][10]
.equ DW   ACC+0x100    # ACC: weight gradient [16][10]

# lr, momentum, beta2, eps, weight decay, dampening, bc1, bc2, grad scale
.data HPD f32 0.1 0 0 0 0.0001 0 1 1 1

.phase control
  load dram=HPD chip=HP size=9 dstride=1 cstride=1 phase=update
  load dram=WD chip=WS size=160 dstride=1 cstride=1 phase=update
  vec.fill rows=1 cols=160 d=PRED d_cs=1 imm=0 phase=predictor
  sopi.add rd=r6 imm=0                   # r6: epoch
  sopi.add rd=r2 imm=0                   # r2: batch counter
  fence
batch:
  recv rd=r1 in=X in_bytes=1024 labels=Y label_bytes=64 phase=io
  br.eq rs1=r1 rs2=r0 target=epoch_end
  load dram=X chip=XS size=256 dstride=1 cstride=1 phase=forward
  load dram=Y chip=YS size=16 dstride=1 cstride=1 deps=push_next phase=forward
  gemm a=XS lda=16 b=WS ldb=10 c=LOGITS ldc=10 m=16 k=16 n=10 deps=pop_prev phase=forward
  xent b=16 k=10 logits=LOGITS logits_rs=10 labels=YS grad=GS grad_rs=10 loss=LOSS scale=0.0625 phase=loss
  # BP or GP? GP when (batch & 3) == 3.
  sopi.and rd=r3 rs1=r2 imm=3
  sopi.seq rd=r4 rs1=r3 imm=3
  br.ne rs1=r4 rs2=r0 target=gp
  # BP: dW = X^T x dlogits, remember it as the next prediction, update.
  gemm ta=1 a=XS lda=16 b=GS ldb=10 c=DW ldc=10 m=16 k=16 n=10 phase=backward
  vec.copy rows=1 cols=160 d=PRED d_cs=1 a=DW a_cs=1 phase=predictor
  opt.sgd n=160 param=WS grad=DW hp=HP phase=update
  jump.j target=report
gp:
  opt.sgd n=160 param=WS grad=PRED hp=HP phase=update
report:
  fence execute=1
  sld.chip.f32 r=r5 addr=LOSS
  send.f64 tag=1 rs=r5 phase=io
  sld.chip.f32 r=r5 addr=LOSS+1
  send.f64 tag=2 rs=r5 phase=io
  sopi.add rd=r2 rs1=r2 imm=1
  jump.j target=batch
epoch_end:
  send.i64 tag=3 rs=r2 phase=io          # batches so far
  sopi.add rd=r6 rs1=r6 imm=1
  sopi.slt rd=r7 rs1=r6 imm=EPOCHS
  br.ne rs1=r7 rs2=r0 target=batch
  store dram=WD chip=WS size=160 dstride=1 cstride=1 phase=update
  finish
