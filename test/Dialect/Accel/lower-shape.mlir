// RUN: adagp-opt %S/Inputs/concat-model.mlir --train-build-step --accel-plan-dram=functions=bp_step --accel-tile --accel-lower-steps | FileCheck %s

// Concatenating channel-last activations [2, 2, 4, 4] and [2, 3, 4, 4]
// along the channels: each operand's 32 pixels are stored 5 channels
// apart, the second one 2 channels (8 bytes) further in.
// CHECK-LABEL: accel.program @bp_step
// CHECK: accel.dmacfg store.d12 <size_a = 32, dstride_a = 5, cstride_a = 2, phase = forward>
// CHECK: accel.store <dram = [[CAT:0x[0-9a-f]+]]0, size = 2, dstride = 1, cstride = 1, tensor_class = activation, phase = forward>
// CHECK: accel.dmacfg store.d12 <size_a = 32, dstride_a = 5, cstride_a = 3, phase = forward>
// CHECK: accel.store <dram = [[CAT]]8, chip = {{0x[0-9a-f]+}}, size = 3, dstride = 1, cstride = 1, tensor_class = activation, phase = forward>

// The backward pass slices the concatenation's gradient back into the two
// operands' gradients: the same strided boxes, as loads.
// CHECK: accel.dmacfg load.d12 <size_a = 32, dstride_a = 5, cstride_a = 2, phase = backward>
// CHECK: accel.load <dram = [[DCAT:0x[0-9a-f]+]]0, size = 2, dstride = 1, cstride = 1, tensor_class = gradient, phase = backward>
// CHECK: accel.dmacfg load.d12 <size_a = 32, dstride_a = 5, cstride_a = 3, phase = backward>
// CHECK: accel.load <dram = [[DCAT]]8, size = 3, dstride = 1, cstride = 1, tensor_class = gradient, phase = backward>
