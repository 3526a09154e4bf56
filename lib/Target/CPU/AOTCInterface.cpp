//===- AOTCInterface.cpp - The C interface of a compiled model ------------===//
//
// Adds to the translated module the functions the generated header
// declares:
//   <prefix>_<function>(inputs..., outputs...)   one per entry point: takes
//       the runtime's lock and calls the compiled function;
//   <prefix>_num_parameters, _parameters, _find_parameter, _set_parameter,
//   _get_parameter                               a constant table that
//       describes every global, and thin calls into the runtime's helpers;
//   <prefix>_set_num_threads, _get_num_threads.
// Every other definition becomes internal, so the object exports exactly
// this interface: two models loaded into one process cannot interpose each
// other's `forward` or globals, and LLVM may inline the compiled function
// into its wrapper.
//
//===----------------------------------------------------------------------===//

#include "adagp/Target/CPU/AOTCompile.h"

#include "llvm/IR/Constants.h"
#include "llvm/IR/DerivedTypes.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Module.h"

using namespace llvm;

namespace {

class CInterfaceBuilder {
public:
  CInterfaceBuilder(Module &module, const adagp::AOTInterface &interface)
      : module(module), interface(interface), context(module.getContext()),
        ptrType(PointerType::getUnqual(context)),
        i64Type(Type::getInt64Ty(context)), i32Type(Type::getInt32Ty(context)),
        voidType(Type::getVoidTy(context)) {}

  bool build(std::string &error);

private:
  std::string symbol(StringRef suffix) const {
    return (interface.prefix + "_" + suffix).str();
  }
  /// A private constant holding `init`.
  Constant *privateConstant(Constant *init, const Twine &name);
  /// An exported function `name`; fails if the module already has the name.
  Function *define(StringRef name, Type *result, ArrayRef<Type *> params,
                   std::string &error);
  FunctionCallee runtime(StringRef name, Type *result,
                         ArrayRef<Type *> params) {
    return module.getOrInsertFunction(
        name, FunctionType::get(result, params, /*isVarArg=*/false));
  }
  bool buildParameterTable(std::string &error);
  bool buildEntryPoint(const adagp::AOTEntryPoint &entry, std::string &error);
  bool buildParameterAccessors(std::string &error);
  bool buildThreadControl(std::string &error);

  Module &module;
  const adagp::AOTInterface &interface;
  LLVMContext &context;
  PointerType *ptrType;
  IntegerType *i64Type, *i32Type;
  Type *voidType;
  Constant *table = nullptr;
  Constant *tableSize = nullptr;
};

} // namespace

Constant *CInterfaceBuilder::privateConstant(Constant *init,
                                             const Twine &name) {
  auto *global = new GlobalVariable(module, init->getType(),
                                    /*isConstant=*/true,
                                    GlobalValue::PrivateLinkage, init, name);
  global->setUnnamedAddr(GlobalValue::UnnamedAddr::Global);
  return global;
}

Function *CInterfaceBuilder::define(StringRef name, Type *result,
                                    ArrayRef<Type *> params,
                                    std::string &error) {
  // Function::Create would silently rename a clashing function.
  if (module.getNamedValue(name)) {
    error = ("the C name '" + name +
             "' clashes with a symbol of the compiled code; choose another "
             "--prefix")
                .str();
    return nullptr;
  }
  auto *type = FunctionType::get(result, params, /*isVarArg=*/false);
  Function *f =
      Function::Create(type, GlobalValue::ExternalLinkage, name, module);
  f->addFnAttr(Attribute::NoUnwind);
  return f;
}

bool CInterfaceBuilder::buildParameterTable(std::string &error) {
  // The layout of adagp_aot_parameter (adagp/Runtime/AOTSupport.h) and of
  // the header's <prefix>_parameter.
  StructType *entryType = StructType::create(
      context, {ptrType, ptrType, i64Type, ptrType, i64Type, i64Type, ptrType},
      symbol("parameter"));
  std::vector<Constant *> entries;
  for (const adagp::GlobalInfo &info : interface.globals) {
    std::string globalName = adagp::kGlobalSymbolPrefix + info.name;
    GlobalVariable *data =
        module.getGlobalVariable(globalName, /*AllowInternal=*/true);
    if (!data) {
      error = "internal error: global '" + info.name +
              "' is missing from the compiled code";
      return false;
    }
    if (data->isConstant()) {
      // Read-only memory: writing through the table would crash.
      error = "global '" + info.name +
              "' is immutable in the compiled code; the C interface needs "
              "every global to be writable";
      return false;
    }
    Constant *name = privateConstant(
        ConstantDataArray::getString(context, info.name), ".adagp.name");
    Constant *dtype = privateConstant(
        ConstantDataArray::getString(context, info.dtype), ".adagp.dtype");
    Constant *shape = ConstantPointerNull::get(ptrType);
    int64_t elements = 1;
    for (int64_t d : info.shape)
      elements *= d;
    if (!info.shape.empty()) {
      std::vector<uint64_t> dims(info.shape.begin(), info.shape.end());
      shape = privateConstant(ConstantDataArray::get(context, dims),
                              ".adagp.shape");
    }
    entries.push_back(ConstantStruct::get(
        entryType, {name, dtype, ConstantInt::get(i64Type, info.shape.size()),
                    shape, ConstantInt::get(i64Type, elements),
                    ConstantInt::get(i64Type, info.bytes), data}));
  }
  auto *tableType = ArrayType::get(entryType, entries.size());
  table = privateConstant(ConstantArray::get(tableType, entries),
                          symbol("parameter_table"));
  tableSize = ConstantInt::get(i64Type, entries.size());
  return true;
}

bool CInterfaceBuilder::buildEntryPoint(const adagp::AOTEntryPoint &entry,
                                        std::string &error) {
  Function *compiled = module.getFunction(entry.function);
  size_t arity = entry.inputs.size() + entry.outputs.size();
  if (!compiled || compiled->isDeclaration()) {
    error = "internal error: function @" + entry.function +
            " is missing from the compiled code";
    return false;
  }
  // buffer-results-to-out-params and the bare-pointer calling convention
  // turn f(tensors...) -> tensors... into f(ptr inputs..., ptr outputs...).
  bool pointers = llvm::all_of(
      compiled->args(), [&](Argument &a) { return a.getType() == ptrType; });
  if (compiled->arg_size() != arity || !pointers ||
      !compiled->getReturnType()->isVoidTy()) {
    error = "internal error: @" + entry.function +
            " does not have the expected signature after lowering (" +
            std::to_string(arity) + " pointers, no result)";
    return false;
  }
  std::vector<Type *> params(arity, ptrType);
  Function *wrapper = define(entry.symbol, voidType, params, error);
  if (!wrapper)
    return false;
  IRBuilder<> b(BasicBlock::Create(context, "entry", wrapper));
  std::vector<Value *> args;
  for (Argument &a : wrapper->args())
    args.push_back(&a);
  b.CreateCall(runtime("adagp_aot_lock", voidType, {}));
  b.CreateCall(compiled, args);
  b.CreateCall(runtime("adagp_aot_unlock", voidType, {}));
  b.CreateRetVoid();
  return true;
}

bool CInterfaceBuilder::buildParameterAccessors(std::string &error) {
  Function *count = define(symbol("num_parameters"), i64Type, {}, error);
  if (!count)
    return false;
  IRBuilder<> b(BasicBlock::Create(context, "entry", count));
  b.CreateRet(tableSize);

  Function *all = define(symbol("parameters"), ptrType, {}, error);
  if (!all)
    return false;
  b.SetInsertPoint(BasicBlock::Create(context, "entry", all));
  b.CreateRet(table);

  Function *find = define(symbol("find_parameter"), ptrType, {ptrType}, error);
  if (!find)
    return false;
  b.SetInsertPoint(BasicBlock::Create(context, "entry", find));
  b.CreateRet(b.CreateCall(
      runtime("adagp_aot_find_parameter", ptrType, {ptrType, i64Type, ptrType}),
      {table, tableSize, find->getArg(0)}));

  // size_t is 64 bits on every host adagp targets.
  for (StringRef which : {"set", "get"}) {
    Function *copy = define(symbol((which + "_parameter").str()), i32Type,
                            {ptrType, ptrType, i64Type}, error);
    if (!copy)
      return false;
    b.SetInsertPoint(BasicBlock::Create(context, "entry", copy));
    FunctionCallee helper =
        runtime(("adagp_aot_" + which + "_parameter").str(), i32Type,
                {ptrType, i64Type, ptrType, ptrType, i64Type});
    b.CreateRet(b.CreateCall(helper, {table, tableSize, copy->getArg(0),
                                      copy->getArg(1), copy->getArg(2)}));
  }
  return true;
}

bool CInterfaceBuilder::buildThreadControl(std::string &error) {
  Function *set = define(symbol("set_num_threads"), voidType, {i32Type}, error);
  if (!set)
    return false;
  IRBuilder<> b(BasicBlock::Create(context, "entry", set));
  b.CreateCall(runtime("adagp_set_num_threads", voidType, {i64Type}),
               {b.CreateSExt(set->getArg(0), i64Type)});
  b.CreateRetVoid();

  Function *get = define(symbol("get_num_threads"), i32Type, {}, error);
  if (!get)
    return false;
  b.SetInsertPoint(BasicBlock::Create(context, "entry", get));
  b.CreateRet(b.CreateTrunc(
      b.CreateCall(runtime("adagp_get_num_threads", i64Type, {})), i32Type));
  return true;
}

bool CInterfaceBuilder::build(std::string &error) {
  // Internalise first: what is defined now is the compiled model.
  for (GlobalValue &value : module.global_values())
    if (!value.isDeclaration() && value.hasExternalLinkage())
      value.setLinkage(GlobalValue::InternalLinkage);
  if (!buildParameterTable(error))
    return false;
  for (const adagp::AOTEntryPoint &entry : interface.entryPoints)
    if (!buildEntryPoint(entry, error))
      return false;
  return buildParameterAccessors(error) && buildThreadControl(error);
}

bool adagp::addCInterface(llvm::Module &module, const AOTInterface &interface,
                          std::string &error) {
  return CInterfaceBuilder(module, interface).build(error);
}
