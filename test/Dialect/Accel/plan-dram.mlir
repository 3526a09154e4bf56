// RUN: adagp-opt %S/Inputs/tiny-model.mlir --train-build-step="optimizer=sgd lr=0.1 momentum=0.9" --accel-plan-dram | FileCheck %s
// RUN: not adagp-opt %S/Inputs/tiny-model.mlir --train-build-step --accel-plan-dram=config=%S/Inputs/tiny-dram.json -o /dev/null 2>&1 | FileCheck %s --check-prefix=SMALL
// RUN: not adagp-opt %S/Inputs/tiny-model.mlir --accel-plan-dram -o /dev/null 2>&1 | FileCheck %s --check-prefix=NOSTEP

// Globals get permanent regions: filters stored [KH][KW][I][O], classes
// from how the step uses them.
// CHECK-DAG: @conv.weight({{.*}}accel.dram = #accel.region<offset = [[CW:[0-9]+]], bytes = 72, class = "weight", layout = [2, 3, 1, 0]>, accel.role = "parameter"
// CHECK-DAG: @fc.weight({{.*}}accel.dram = #accel.region<offset = [[FW:[0-9]+]], bytes = 384, class = "weight", layout = []>
// CHECK-DAG: @conv.weight.momentum({{.*}}class = "optimizer_state", layout = [2, 3, 1, 0]>, accel.role = "state"
// CHECK-DAG: @train.step({{.*}}bytes = 8, class = "other"

// The host's buffers: the input stored channel-last, the labels as int32.
// CHECK-LABEL: func.func @bp_step
// CHECK-SAME: accel.dram = #accel.region<offset = [[IN:[0-9]+]], bytes = 128, class = "input", layout = [0, 2, 3, 1]>, accel.input_name = "input"
// CHECK-SAME: accel.dram = #accel.region<offset = {{[0-9]+}}, bytes = 8, class = "input", layout = []>, accel.input_name = "labels"

// Activations are channel-last.
// CHECK: %[[CONV:.*]] = nn.conv2d {{.*}}accel.dram = [#accel.region<offset = [[C:[0-9]+]], bytes = 256, class = "activation", layout = [0, 2, 3, 1]>]
// CHECK: %[[RELU:.*]] = nn.relu %[[CONV]] {accel.dram = [#accel.region<offset = [[R:[0-9]+]], bytes = 256, class = "activation", layout = [0, 2, 3, 1]>]}
// Flattening a channel-last [2, 2, 4, 4] into NCHW order is a copy. The
// ReLU's gradient reads the ReLU's output, so the convolution output is dead
// after the ReLU and the copy takes its space.
// CHECK: nn.flatten %[[RELU]] {accel.dram = [#accel.region<offset = [[C]], bytes = 256, class = "activation", layout = []>]
// CHECK: nn.gemm {{.*}}accel.dram = [#accel.region<offset = {{[0-9]+}}, bytes = 24, class = "activation"
// CHECK: train.softmax_cross_entropy_grad {{.*}}class = "gradient"
// The filter gradient is stored like the filter.
// CHECK: nn.relu_grad {{.*}}, %[[RELU]] {accel.dram
// CHECK: nn.conv2d_filter_grad {{.*}}accel.dram = [#accel.region<offset = {{[0-9]+}}, bytes = 72, class = "gradient", layout = [2, 3, 1, 0]>]
// Updates happen in place, in the globals' regions, and get a
// hyper-parameter block each.
// CHECK: train.sgd_update {{.*}}accel.dram = [#accel.region<offset = [[CW]], bytes = 72, class = "weight", layout = [2, 3, 1, 0]>, {{.*}}accel.hp = #accel.region<offset = {{[0-9]+}}, bytes = 36, class = "other"
// CHECK: train.sgd_update {{.*}}accel.dram = [#accel.region<offset = [[FW]], bytes = 384

// The evaluation step reads the same input buffer.
// CHECK-LABEL: func.func @eval_step
// CHECK-SAME: accel.dram = #accel.region<offset = [[IN]], bytes = 128, class = "input"

// SMALL: error: the model does not fit the accelerator's DRAM: the plan needs {{[0-9]+}} bytes ({{[0-9]+}} for parameters, state and buffers, {{[0-9]+}} for the largest step's tensors) but the configuration has 1024 (short by {{[0-9]+}} bytes)
// NOSTEP: error: no step function to plan (expected @bp_step or @eval_step; run --train-build-step first)
