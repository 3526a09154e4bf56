//===- AccelOps.td - The accelerator's instructions as ops -*- tablegen -*-===//
//
// One operation per instruction of the adagp accelerator (docs/isa.md), with
// one attribute per instruction field, named as in the ISA's field tables
// (include/adagp/ISA/ISA.h). Verifiers check every field against those
// tables, so an op that verifies encodes.
//
//===----------------------------------------------------------------------===//

#ifndef ADAGP_DIALECT_ACCEL_ACCELOPS_TD
#define ADAGP_DIALECT_ACCEL_ACCELOPS_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def Accel_Dialect : Dialect {
  let name = "accel";
  let cppNamespace = "::adagp::accel";
  let summary = "The adagp training accelerator's instructions";
  let description = [{
    A buffer-level mirror of the accelerator's ISA (docs/isa.md): every op
    is one instruction, every attribute one instruction field with the
    field's ISA name, plus `phase` (the report's phase label), `deps` (the
    dependency-token flags) and, on DMAs, `tensor_class` (the tensor moved,
    which only the report uses). Instructions live in `accel.program`
    bodies, in program order; branch targets are `accel.label` symbols.

    `--adagp-accel-pipeline` produces this dialect from `@bp_step` and
    `@eval_step`; `adagp-translate --emit-accel-program` encodes it with the
    ISA's own encoder (`--asm`: the assembler's text form).
  }];
  let useDefaultAttributePrinterParser = 1;
  let extraClassDeclaration = [{
    /// Name of the discardable attribute holding a value's DRAM region.
    static constexpr llvm::StringLiteral kDramAttrName = "accel.dram";

    /// The attribute names of an opcode's fields in ISA order, uniqued once
    /// when the dialect loads (building a million instructions should not
    /// hash a million strings).
    llvm::ArrayRef<mlir::StringAttr> getFieldNames(unsigned opcode) const {
      return fieldNames[opcode];
    }

  private:
    std::vector<llvm::SmallVector<mlir::StringAttr, 16>> fieldNames;
  public:
  }];
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

def Accel_RegionAttr : AttrDef<Accel_Dialect, "Region"> {
  let mnemonic = "region";
  let summary = "where a tensor lives in DRAM";
  let description = [{
    `offset` and `bytes` in DRAM, the tensor class (`weight`, `activation`,
    `gradient`, `optimizer_state`, `predictor`, `input`, `statistics`,
    `constant`, `other`: the report splits DRAM traffic by it), and the
    storage order `layout` (empty: row-major over the logical shape; else
    DRAM holds the tensor row-major over dimensions `layout[0]`,
    `layout[1]`, ...: `[0, 2, 3, 1]` is an NCHW activation stored
    channel-last, `[2, 3, 1, 0]` an OIHW filter stored `[KH][KW][I][O]`).

    ```mlir
    #accel.region<offset = 4096, bytes = 600, class = "weight", layout = [2, 3, 1, 0]>
    ```
  }];
  let parameters = (ins "uint64_t":$offset, "uint64_t":$bytes,
                        StringRefParameter<"tensor class">:$cls,
                        ArrayRefParameter<"int64_t", "storage order">:$layout);
  let assemblyFormat = [{
    `<` `offset` `=` $offset `,` `bytes` `=` $bytes `,` `class` `=` $cls `,`
    `layout` `=` custom<Layout>($layout) `>`
  }];
  let genVerifyDecl = 1;
}

//===----------------------------------------------------------------------===//
// Containers
//===----------------------------------------------------------------------===//

class Accel_Op<string mnemonic, list<Trait> traits = []>
    : Op<Accel_Dialect, mnemonic, traits>;

def Accel_ProgramOp : Accel_Op<"program", [Symbol, SymbolTable,
    IsolatedFromAbove, NoTerminator, SingleBlock]> {
  let summary = "a sequence of instructions in program order";
  let description = [{
    The instructions of a whole program (`kind = "main"`, what
    `--emit-accel-program` encodes, with the instruction at index 0 first)
    or of a subroutine (`kind = "subroutine"`: a step function lowered by
    `--accel-lower-steps`, which `--accel-build-program` places after a
    label of its name and returns from with `jump.jr`). Labels inside are
    symbols, so branch targets resolve in this table.

    ```mlir
    accel.program @main {
      accel.label @loop
      accel.recv <rd = r1, stream = 0, in = 0x1000, in_bytes = 3136>
      accel.br eq <rs1 = r1, rs2 = r0, target = @done>
      accel.jump j <target = @loop>
      accel.label @done
      accel.finish <>
    }
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name,
                       DefaultValuedAttr<StrAttr, "\"main\"">:$kind);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = "$sym_name attr-dict-with-keyword $body";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    mlir::Block &getBlock() { return getBody().front(); }
  }];
  let skipDefaultBuilders = 1;
  let builders = [OpBuilder<(ins "llvm::StringRef":$name,
                                 "llvm::StringRef":$kind)>];
}

def Accel_LabelOp : Accel_Op<"label", [Symbol, HasParent<"ProgramOp">]> {
  let summary = "names the next instruction (a branch target)";
  let description = [{
    Emits nothing: it names the index of the instruction that follows.

    ```mlir
    accel.label @epoch
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name);
  let assemblyFormat = "$sym_name attr-dict";
}

def Accel_SymbolOp : Accel_Op<"symbol"> {
  let summary = "a named tensor in DRAM, for the program's symbol table";
  let description = [{
    What the host sees of the DRAM plan: every parameter, optimizer state and
    statistic under its ONNX initializer name (`role = "parameter"` or
    `"state"`) and the host buffers (`"input"`, `"labels"`, `"loss"`,
    `"logits"`). `--emit-accel-program` writes them to the program's SYMTAB
    section (docs/accel-compiler.md); `adagp-sim --dump-parameters` reads
    them.

    ```mlir
    accel.symbol "conv1.weight" parameter : tensor<6x1x5x5xf32>
        at #accel.region<offset = 0, bytes = 600, class = "weight", layout = [2, 3, 1, 0]>
    ```
  }];
  let arguments = (ins StrAttr:$name, StrAttr:$role, TypeAttr:$type,
                       Accel_RegionAttr:$region);
  let assemblyFormat = [{
    $name $role `:` $type `at` $region attr-dict
  }];
  let hasVerifier = 1;
}

def Accel_DataOp : Accel_Op<"data"> {
  let summary = "initial DRAM contents (a data segment)";
  let description = [{
    `value` (in logical order) is written to DRAM at `region` before the
    program starts, permuted into the region's storage `layout`. Initial
    weights and constants travel this way; zero-initialised state needs no
    segment (DRAM starts zeroed).

    ```mlir
    accel.data dense<[1.0, 2.0]> : tensor<2xf32>
        at #accel.region<offset = 64, bytes = 8, class = "constant", layout = []>
    ```
  }];
  let arguments = (ins ElementsAttr:$value, Accel_RegionAttr:$region);
  let assemblyFormat = "$value `at` $region attr-dict";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Instructions
//===----------------------------------------------------------------------===//

// The generic form of every instruction: an optional function code, then
// `<field = value, ...>` with the fields in ISA order, then `phase` and
// `deps` when they are not the defaults. On-chip addresses print in hex,
// registers as rN, F32 fields as floats (hex bits when not finite).
class Accel_InstOp<string mnemonic, string opcode, dag fields,
                   list<Trait> traits = []>
    : Accel_Op<mnemonic, traits # [HasParent<"ProgramOp">]> {
  let arguments = !con(fields, (ins OptionalAttr<StrAttr>:$phase,
                                    OptionalAttr<I64Attr>:$deps));
  let hasCustomAssemblyFormat = 1;
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    static constexpr ::adagp::isa::Opcode kOpcode =
        ::adagp::isa::Opcode::}] # opcode # [{;
  }];
  let extraClassDefinition = [{
    ::mlir::ParseResult $cppClass::parse(::mlir::OpAsmParser &parser,
                                         ::mlir::OperationState &result) {
      return parseInstruction(parser, result, kOpcode);
    }
    void $cppClass::print(::mlir::OpAsmPrinter &p) {
      printInstruction(p, getOperation(), kOpcode);
    }
    ::llvm::LogicalResult $cppClass::verify() {
      return verifyInstruction(getOperation(), kOpcode);
    }
  }];
}

defvar Funct = (ins StrAttr:$funct);

def Accel_NopOp : Accel_InstOp<"nop", "Nop", (ins)> {
  let summary = "no operation (control)";
  let description = [{ `accel.nop <>` }];
}

def Accel_FinishOp : Accel_InstOp<"finish", "Finish", (ins)> {
  let summary = "wait for every queue to drain, then end the program";
  let description = [{ `accel.finish <>` }];
}

def Accel_FenceOp : Accel_InstOp<"fence", "Fence",
    (ins UnitAttr:$load, UnitAttr:$execute, UnitAttr:$store)> {
  let summary = "stall fetch until the selected queues have drained";
  let description = [{
    Waits for every instruction already dispatched to the selected queues
    (all three when none is selected). `--accel-insert-tokens` places fences
    where a control-core memory access needs ordering (control instructions
    take no tokens) and before labels and jumps.

    ```mlir
    accel.fence <store>
    ```
  }];
}

def Accel_LoadOp : Accel_InstOp<"load", "Load",
    (ins OptionalAttr<I64Attr>:$dram_reg, OptionalAttr<I64Attr>:$dram,
         OptionalAttr<I64Attr>:$chip_reg, OptionalAttr<I64Attr>:$chip,
         I64Attr:$size, OptionalAttr<I64Attr>:$start,
         OptionalAttr<I64Attr>:$extent, I64Attr:$dstride, I64Attr:$cstride,
         OptionalAttr<F32Attr>:$pad, OptionalAttr<StrAttr>:$tensor_class)> {
  let summary = "DMA a box from DRAM into on-chip memory (load queue)";
  let description = [{
    Dimension 0 of the box is given here; dimensions 1-4 come from the load
    queue's DMACFG registers (`accel.dmacfg load.d12`/`load.d34`). Source
    positions outside `[0, extent)` read `pad`. `tensor_class` names the tensor
    class for the report's traffic split; it is not an instruction field.

    A 3x3 padded tap window of an 8x8x16 channel-last input:
    ```mlir
    accel.dmacfg load.d12 <size_a = 8, start_a = -1, extent_a = 8, dstride_a = 16,
        cstride_a = 16, size_b = 8, start_b = -1, extent_b = 8, dstride_b = 128,
        cstride_b = 128>
    accel.load <dram = 0x1000, chip = 0x0, size = 16, dstride = 1, cstride = 1,
        tensor_class = "activation", phase = forward, deps = [push_next]>
    ```
  }];
}

def Accel_StoreOp : Accel_InstOp<"store", "Store",
    (ins OptionalAttr<I64Attr>:$dram_reg, OptionalAttr<I64Attr>:$dram,
         OptionalAttr<I64Attr>:$chip_reg, OptionalAttr<I64Attr>:$chip,
         I64Attr:$size, OptionalAttr<I64Attr>:$start,
         OptionalAttr<I64Attr>:$extent, I64Attr:$dstride, I64Attr:$cstride,
         OptionalAttr<F32Attr>:$pad, OptionalAttr<StrAttr>:$tensor_class)> {
  let summary = "DMA a box from on-chip memory to DRAM (store queue)";
  let description = [{
    The inverse of `accel.load`, with the store queue's DMACFG registers;
    out-of-range positions are skipped.

    ```mlir
    accel.store <dram = 0x2000, chip = 0x800000, size = 16, dstride = 1,
        cstride = 1, tensor_class = "activation", deps = [pop_prev]>
    ```
  }];
}

def Accel_DmaCfgOp : Accel_InstOp<"dmacfg", "DmaCfg", !con(Funct,
    (ins OptionalAttr<I64Attr>:$size_a, OptionalAttr<I64Attr>:$start_a,
         OptionalAttr<I64Attr>:$extent_a, OptionalAttr<I64Attr>:$dstride_a,
         OptionalAttr<I64Attr>:$cstride_a, OptionalAttr<I64Attr>:$size_b,
         OptionalAttr<I64Attr>:$start_b, OptionalAttr<I64Attr>:$extent_b,
         OptionalAttr<I64Attr>:$dstride_b, OptionalAttr<I64Attr>:$cstride_b))> {
  let summary = "set two DMA box dimensions of a queue (control)";
  let description = [{
    `load.d12` sets dimensions 1 and 2 of the load queue (fields `*_a` and
    `*_b`), `load.d34` dimensions 3 and 4; `store.*` the store queue's.
    Omitted fields reset to size 1, stride 0, no bounds.

    ```mlir
    accel.dmacfg store.d12 <size_a = 64, dstride_a = 16, cstride_a = 16>
    ```
  }];
}

def Accel_GemmOp : Accel_InstOp<"gemm", "Gemm",
    (ins UnitAttr:$ta, UnitAttr:$tb, UnitAttr:$tc, UnitAttr:$acc,
         UnitAttr:$keep, OptionalAttr<I64Attr>:$a_reg, I64Attr:$a,
         I64Attr:$lda, OptionalAttr<I64Attr>:$b, OptionalAttr<I64Attr>:$ldb,
         OptionalAttr<I64Attr>:$c_reg, I64Attr:$c, I64Attr:$ldc, I64Attr:$m,
         I64Attr:$k, I64Attr:$n)> {
  let summary = "C (+)= A x B on the systolic array (execute queue)";
  let description = [{
    `C[m x n] = (acc ? C : 0) + A[m x k] * B[k x n]` with `k, n <= DIM`;
    `ta`/`tb`/`tc` read A and B and write C transposed. A convolution's
    forward pass, input gradient and filter gradient all map onto it.

    ```mlir
    accel.gemm <acc, a = 0x0, lda = 144, b = 0x10000, ldb = 16, c = 0x800000,
        ldc = 16, m = 1024, k = 16, n = 16, phase = forward, deps = [pop_prev]>
    ```
  }];
}

def Accel_VecOp : Accel_InstOp<"vec", "Vec", !con(Funct,
    (ins I64Attr:$rows, I64Attr:$cols, I64Attr:$d,
         OptionalAttr<I64Attr>:$d_rs, OptionalAttr<I64Attr>:$d_cs,
         OptionalAttr<I64Attr>:$a, OptionalAttr<I64Attr>:$a_rs,
         OptionalAttr<I64Attr>:$a_cs, OptionalAttr<I64Attr>:$b,
         OptionalAttr<I64Attr>:$b_rs, OptionalAttr<I64Attr>:$b_cs,
         OptionalAttr<F32Attr>:$imm))> {
  let summary = "a vector-unit function over 2-D views (execute queue)";
  let description = [{
    `D[r, c] = f(A[r, c], B[r, c], imm)` for the function code (`relu`,
    `relu_grad`, `affine`, `colsum_acc`, ...: docs/isa.md section 5). A view
    is an address with a row and a column stride; stride 0 broadcasts.

    ReLU of 1024 contiguous elements in place:
    ```mlir
    accel.vec relu <rows = 1, cols = 1024, d = 0x0, d_cs = 1, a = 0x0, a_cs = 1>
    ```
  }];
}

def Accel_PoolOp : Accel_InstOp<"pool", "Pool", !con(Funct,
    (ins I64Attr:$n, I64Attr:$h, I64Attr:$w, I64Attr:$c, I64Attr:$oh,
         I64Attr:$ow, OptionalAttr<I64Attr>:$kh, OptionalAttr<I64Attr>:$kw,
         OptionalAttr<I64Attr>:$sh, OptionalAttr<I64Attr>:$sw,
         OptionalAttr<I64Attr>:$pt, OptionalAttr<I64Attr>:$pl,
         I64Attr:$in, OptionalAttr<I64Attr>:$aux, I64Attr:$out))> {
  let summary = "pooling or its gradient over a channel-last tile";
  let description = [{
    ```mlir
    accel.pool max <n = 4, h = 28, w = 28, c = 6, oh = 14, ow = 14, kh = 2,
        kw = 2, sh = 2, sw = 2, in = 0x0, out = 0x8000>
    ```
  }];
}

def Accel_XentOp : Accel_InstOp<"xent", "Xent",
    (ins I64Attr:$b, I64Attr:$k, I64Attr:$logits, I64Attr:$logits_rs,
         I64Attr:$labels, I64Attr:$grad, I64Attr:$grad_rs, I64Attr:$loss,
         OptionalAttr<F32Attr>:$scale)> {
  let summary = "softmax cross-entropy: loss, gradient and hits";
  let description = [{
    ```mlir
    accel.xent <b = 64, k = 10, logits = 0x0, logits_rs = 10, labels = 0x400,
        grad = 0x800, grad_rs = 10, loss = 0xc00, scale = 1.562500e-02>
    ```
  }];
}

def Accel_OptOp : Accel_InstOp<"opt", "Opt", !con(Funct,
    (ins I64Attr:$n, I64Attr:$param, I64Attr:$grad,
         OptionalAttr<I64Attr>:$m, OptionalAttr<I64Attr>:$v,
         I64Attr:$hp))> {
  let summary = "an optimizer update of contiguous parameters in place";
  let description = [{
    ```mlir
    accel.opt momentum <n = 4096, param = 0x0, grad = 0x1000, m = 0x2000,
        hp = 0x3000, phase = update>
    ```
  }];
}

def Accel_SopOp : Accel_InstOp<"sop", "Sop", !con(Funct,
    (ins I64Attr:$rd, OptionalAttr<I64Attr>:$rs1,
         OptionalAttr<I64Attr>:$rs2))> {
  let summary = "scalar rd = rs1 op rs2 (control)";
  let description = [{ `accel.sop add <rd = r3, rs1 = r1, rs2 = r2>` }];
}

def Accel_SopiOp : Accel_InstOp<"sopi", "Sopi", !con(Funct,
    (ins I64Attr:$rd, OptionalAttr<I64Attr>:$rs1,
         OptionalAttr<I64Attr>:$imm))> {
  let summary = "scalar rd = rs1 op imm (control)";
  let description = [{
    `imm` holds the raw 64 bits; for floating-point functions it prints as
    a double.

    ```mlir
    accel.sopi fadd <rd = r2, imm = 1.000000e-02>
    ```
  }];
}

def Accel_BranchOp : Accel_InstOp<"br", "Branch", !con(Funct,
    (ins OptionalAttr<I64Attr>:$rs1, OptionalAttr<I64Attr>:$rs2,
         FlatSymbolRefAttr:$target))> {
  let summary = "conditional branch to a label (control)";
  let description = [{ `accel.br eq <rs1 = r1, target = @done>` }];
}

def Accel_JumpOp : Accel_InstOp<"jump", "Jump", !con(Funct,
    (ins OptionalAttr<I64Attr>:$rd, OptionalAttr<I64Attr>:$rs1,
         OptionalAttr<FlatSymbolRefAttr>:$target))> {
  let summary = "jump, jump-and-link (call) or jump to a register (return)";
  let description = [{
    ```mlir
    accel.jump jal <rd = r31, target = @bp_step>
    accel.jump jr <rs1 = r31>
    ```
  }];
}

def Accel_SldOp : Accel_InstOp<"sld", "Sld", !con(Funct,
    (ins I64Attr:$r, OptionalAttr<I64Attr>:$base,
         OptionalAttr<I64Attr>:$addr))> {
  let summary = "scalar load from on-chip memory or DRAM (control)";
  let description = [{ `accel.sld dram.i64 <r = r5, addr = 4096>` }];
}

def Accel_SstOp : Accel_InstOp<"sst", "Sst", !con(Funct,
    (ins I64Attr:$r, OptionalAttr<I64Attr>:$base,
         OptionalAttr<I64Attr>:$addr))> {
  let summary = "scalar store to on-chip memory or DRAM (control)";
  let description = [{ `accel.sst dram.f32 <r = r6, addr = 8192>` }];
}

def Accel_RecvOp : Accel_InstOp<"recv", "Recv",
    (ins I64Attr:$rd, OptionalAttr<I64Attr>:$stream,
         OptionalAttr<I64Attr>:$in_reg, OptionalAttr<I64Attr>:$in,
         OptionalAttr<I64Attr>:$in_bytes, OptionalAttr<I64Attr>:$label_reg,
         OptionalAttr<I64Attr>:$labels,
         OptionalAttr<I64Attr>:$label_bytes)> {
  let summary = "ask the host for the next batch of a stream (control)";
  let description = [{
    ```mlir
    accel.recv <rd = r1, in = 4096, in_bytes = 12544, labels = 16640, label_bytes = 16>
    ```
  }];
}

def Accel_SendOp : Accel_InstOp<"send", "Send", !con(Funct,
    (ins OptionalAttr<I64Attr>:$tag, OptionalAttr<I64Attr>:$rs,
         OptionalAttr<I64Attr>:$base, OptionalAttr<I64Attr>:$addr,
         OptionalAttr<I64Attr>:$count))> {
  let summary = "send a register or a DRAM block to the host (control)";
  let description = [{
    ```mlir
    accel.send dram.f32 <tag = 3, addr = 20480, count = 1>
    ```
  }];
}

#endif // ADAGP_DIALECT_ACCEL_ACCELOPS_TD
