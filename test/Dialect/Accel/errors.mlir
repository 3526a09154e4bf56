// RUN: adagp-opt %s -split-input-file -verify-diagnostics

accel.program @p {
  // expected-error @+1 {{field 'k' = 300 is outside [1, 256] (8-bit count)}}
  accel.gemm <a = 0, lda = 16, c = 0x800000, ldc = 16, m = 4, k = 300, n = 16>
}

// -----

accel.program @p {
  // expected-error @+1 {{requires attribute 'size'}}
  accel.load <dram = 0, chip = 0, dstride = 1, cstride = 1>
}

// -----

accel.program @p {
  // expected-error @+1 {{field 'chip' = 16777216 is outside [0, 16777215]}}
  accel.load <chip = 0x1000000, size = 1, dstride = 1, cstride = 1>
}

// -----

accel.program @p {
  // expected-error @+1 {{dependency flags 8 are not allowed on the control queue}}
  accel.sopi add <rd = r1, imm = 1, deps = [push_next]>
}

// -----

accel.program @p {
  // expected-error @+1 {{unknown function code 'relux' for vec}}
  accel.vec relux <rows = 1, cols = 1, d = 0>
}

// -----

accel.program @p {
  // expected-error @+1 {{'frob' is not a field of gemm}}
  accel.gemm <frob = 1, a = 0, lda = 16, c = 0, ldc = 16, m = 1, k = 1, n = 1>
}

// -----

accel.program @p {
  // expected-error @+1 {{expected a register r0..r31, got 'r32'}}
  accel.sop add <rd = r32>
}

// -----

accel.program @p {
  // expected-error @+1 {{branches to @nowhere, which is not a label of the program}}
  accel.br eq <target = @nowhere>
}

// -----

accel.program @p {
  // expected-error @+1 {{unknown phase 'warmup'}}
  accel.nop <phase = warmup>
}

// -----

accel.program @p {
  // expected-error @+1 {{only loads and stores carry a tensor class}}
  accel.vec copy <rows = 1, cols = 1, d = 0, tensor_class = weight>
}

// -----

accel.program @p {
  // expected-error @+1 {{unknown tensor class 'bias'}}
  accel.load <size = 1, dstride = 1, cstride = 1, tensor_class = bias>
}

// -----

// expected-error @+1 {{kind must be "main" or "subroutine", got "library"}}
accel.program @p attributes {kind = "library"} {
}

// -----

func.func @f() {
  // expected-error @+1 {{expects parent op 'accel.program'}}
  accel.nop <>
  return
}

// -----

// expected-error @+1 {{unknown tensor class 'weights'}}
accel.symbol "w" "parameter" : tensor<4xf32> at #accel.region<offset = 0, bytes = 16, class = "weights", layout = []>

// -----

// expected-error @+1 {{layout must be a permutation of 0..1}}
accel.symbol "w" "parameter" : tensor<2x2xf32> at #accel.region<offset = 0, bytes = 16, class = "weight", layout = [0, 0]>

// -----

// expected-error @+1 {{needs 64 bytes but its region has 16}}
accel.symbol "w" "parameter" : tensor<16xf32> at #accel.region<offset = 0, bytes = 16, class = "weight", layout = []>

// -----

// expected-error @+1 {{unknown role 'bias'}}
accel.symbol "w" "bias" : tensor<4xf32> at #accel.region<offset = 0, bytes = 16, class = "weight", layout = []>

// -----

// expected-error @+1 {{value of 16 bytes does not fit its region of 8}}
accel.data dense<1.0> : tensor<4xf32> at #accel.region<offset = 0, bytes = 8, class = "constant", layout = []>

// -----

// expected-error @+1 {{DRAM offset 2 is not 4-byte aligned}}
accel.data dense<1.0> : tensor<1xf32> at #accel.region<offset = 2, bytes = 8, class = "constant", layout = []>
