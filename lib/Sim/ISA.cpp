//===- ISA.cpp - Instruction tables, encoding and program files -----------===//

#include "adagp/ISA/ISA.h"

#include <cstring>
#include <fmt/format.h>

namespace adagp::isa {

namespace {

#define ADAGP_FIELD_INFO(id, name, width, kind, req)                           \
  FieldInfo{name, width, FieldKind::kind, req},
const FieldInfo kDmaFields[] = {ADAGP_DMA_FIELDS(ADAGP_FIELD_INFO)};
const FieldInfo kDmaCfgFields[] = {ADAGP_DMACFG_FIELDS(ADAGP_FIELD_INFO)};
const FieldInfo kGemmFields[] = {ADAGP_GEMM_FIELDS(ADAGP_FIELD_INFO)};
const FieldInfo kVecFields[] = {ADAGP_VEC_FIELDS(ADAGP_FIELD_INFO)};
const FieldInfo kPoolFields[] = {ADAGP_POOL_FIELDS(ADAGP_FIELD_INFO)};
const FieldInfo kXentFields[] = {ADAGP_XENT_FIELDS(ADAGP_FIELD_INFO)};
const FieldInfo kOptFields[] = {ADAGP_OPT_FIELDS(ADAGP_FIELD_INFO)};
const FieldInfo kSopFields[] = {ADAGP_SOP_FIELDS(ADAGP_FIELD_INFO)};
const FieldInfo kSopiFields[] = {ADAGP_SOPI_FIELDS(ADAGP_FIELD_INFO)};
const FieldInfo kBranchFields[] = {ADAGP_BRANCH_FIELDS(ADAGP_FIELD_INFO)};
const FieldInfo kJumpFields[] = {ADAGP_JUMP_FIELDS(ADAGP_FIELD_INFO)};
const FieldInfo kSMemFields[] = {ADAGP_SMEM_FIELDS(ADAGP_FIELD_INFO)};
const FieldInfo kFenceFields[] = {ADAGP_FENCE_FIELDS(ADAGP_FIELD_INFO)};
const FieldInfo kRecvFields[] = {ADAGP_RECV_FIELDS(ADAGP_FIELD_INFO)};
const FieldInfo kSendFields[] = {ADAGP_SEND_FIELDS(ADAGP_FIELD_INFO)};
#undef ADAGP_FIELD_INFO

#define ADAGP_FUNCT_NAME(id, name) name,
const char *const kVecFuncts[] = {ADAGP_VEC_FUNCTS(ADAGP_FUNCT_NAME)};
const char *const kPoolFuncts[] = {ADAGP_POOL_FUNCTS(ADAGP_FUNCT_NAME)};
const char *const kOptFuncts[] = {ADAGP_OPT_FUNCTS(ADAGP_FUNCT_NAME)};
const char *const kScalarFuncts[] = {ADAGP_SCALAR_FUNCTS(ADAGP_FUNCT_NAME)};
const char *const kBranchFuncts[] = {ADAGP_BRANCH_FUNCTS(ADAGP_FUNCT_NAME)};
const char *const kJumpFuncts[] = {ADAGP_JUMP_FUNCTS(ADAGP_FUNCT_NAME)};
const char *const kSMemFuncts[] = {ADAGP_SMEM_FUNCTS(ADAGP_FUNCT_NAME)};
const char *const kDmaCfgFuncts[] = {ADAGP_DMACFG_FUNCTS(ADAGP_FUNCT_NAME)};
const char *const kSendFuncts[] = {ADAGP_SEND_FUNCTS(ADAGP_FUNCT_NAME)};
#undef ADAGP_FUNCT_NAME

#define N(a) (sizeof(a) / sizeof((a)[0]))
const OpcodeInfo kOpcodes[] = {
    {"invalid", Queue::Control, nullptr, 0, nullptr, 0},
    {"nop", Queue::Control, nullptr, 0, nullptr, 0},
    {"finish", Queue::Control, nullptr, 0, nullptr, 0},
    {"fence", Queue::Control, kFenceFields, N(kFenceFields), nullptr, 0},
    {"load", Queue::Load, kDmaFields, N(kDmaFields), nullptr, 0},
    {"store", Queue::Store, kDmaFields, N(kDmaFields), nullptr, 0},
    {"dmacfg", Queue::Control, kDmaCfgFields, N(kDmaCfgFields), kDmaCfgFuncts,
     N(kDmaCfgFuncts)},
    {"gemm", Queue::Execute, kGemmFields, N(kGemmFields), nullptr, 0},
    {"vec", Queue::Execute, kVecFields, N(kVecFields), kVecFuncts,
     N(kVecFuncts)},
    {"pool", Queue::Execute, kPoolFields, N(kPoolFields), kPoolFuncts,
     N(kPoolFuncts)},
    {"xent", Queue::Execute, kXentFields, N(kXentFields), nullptr, 0},
    {"opt", Queue::Execute, kOptFields, N(kOptFields), kOptFuncts,
     N(kOptFuncts)},
    {"sop", Queue::Control, kSopFields, N(kSopFields), kScalarFuncts,
     N(kScalarFuncts)},
    {"sopi", Queue::Control, kSopiFields, N(kSopiFields), kScalarFuncts,
     N(kScalarFuncts)},
    {"br", Queue::Control, kBranchFields, N(kBranchFields), kBranchFuncts,
     N(kBranchFuncts)},
    {"jump", Queue::Control, kJumpFields, N(kJumpFields), kJumpFuncts,
     N(kJumpFuncts)},
    {"sld", Queue::Control, kSMemFields, N(kSMemFields), kSMemFuncts,
     N(kSMemFuncts)},
    {"sst", Queue::Control, kSMemFields, N(kSMemFields), kSMemFuncts,
     N(kSMemFuncts)},
    {"recv", Queue::Control, kRecvFields, N(kRecvFields), nullptr, 0},
    {"send", Queue::Control, kSendFields, N(kSendFields), kSendFuncts,
     N(kSendFuncts)},
};
static_assert(N(kOpcodes) == static_cast<size_t>(Opcode::NumOpcodes),
              "opcode table out of sync with the Opcode enum");
#undef N

const char *const kPhaseNames[] = {"other", "forward",   "backward", "update",
                                   "loss",  "predictor", "reorg",    "control",
                                   "io",    "eval"};
static_assert(sizeof(kPhaseNames) / sizeof(kPhaseNames[0]) == kNumPhases,
              "phase names out of sync");

// Little-endian bit packing over four 64-bit words.
uint64_t getBits(const uint64_t w[4], unsigned pos, unsigned width) {
  unsigned word = pos / 64, off = pos % 64;
  uint64_t v = w[word] >> off;
  if (off + width > 64)
    v |= w[word + 1] << (64 - off);
  if (width < 64)
    v &= (uint64_t(1) << width) - 1;
  return v;
}

void putBits(uint64_t w[4], unsigned pos, unsigned width, uint64_t v) {
  if (width < 64)
    v &= (uint64_t(1) << width) - 1;
  unsigned word = pos / 64, off = pos % 64;
  w[word] |= v << off;
  if (off + width > 64)
    w[word + 1] |= v >> (64 - off);
}

void loadWords(const uint8_t *in, uint64_t w[4]) {
  for (unsigned i = 0; i < 4; ++i) {
    uint64_t v = 0;
    for (unsigned b = 0; b < 8; ++b)
      v |= uint64_t(in[i * 8 + b]) << (8 * b);
    w[i] = v;
  }
}

void storeWords(const uint64_t w[4], uint8_t *out) {
  for (unsigned i = 0; i < 4; ++i)
    for (unsigned b = 0; b < 8; ++b)
      out[i * 8 + b] = uint8_t(w[i] >> (8 * b));
}

} // namespace

const OpcodeInfo &opcodeInfo(Opcode op) {
  return kOpcodes[static_cast<unsigned>(op)];
}

std::string opcodeName(uint8_t op) {
  if (op == 0 || op >= static_cast<uint8_t>(Opcode::NumOpcodes))
    return fmt::format("invalid(0x{:02x})", op);
  return kOpcodes[op].name;
}

std::string mnemonic(Opcode op, uint8_t funct) {
  const OpcodeInfo &info = opcodeInfo(op);
  if (info.numFuncts == 0 || funct >= info.numFuncts)
    return info.name;
  return std::string(info.name) + "." + info.functNames[funct];
}

const char *phaseName(Phase phase) {
  unsigned p = static_cast<unsigned>(phase);
  return p < kNumPhases ? kPhaseNames[p] : "invalid";
}

bool parsePhase(const std::string &name, Phase &phase) {
  for (unsigned p = 0; p < kNumPhases; ++p)
    if (name == kPhaseNames[p]) {
      phase = static_cast<Phase>(p);
      return true;
    }
  return false;
}

const char *queueName(Queue q) {
  switch (q) {
  case Queue::Load:
    return "load";
  case Queue::Execute:
    return "execute";
  case Queue::Store:
    return "store";
  case Queue::Control:
    return "control";
  }
  return "invalid";
}

uint8_t allowedDeps(Queue q) {
  switch (q) {
  case Queue::Load:
  case Queue::Execute:
  case Queue::Store:
    return kPopPrev | kPopNext | kPushPrev | kPushNext;
  case Queue::Control:
    return 0;
  }
  return 0;
}

float Instruction::getF32(unsigned i) const {
  uint32_t bits = uint32_t(field[i]);
  float v;
  std::memcpy(&v, &bits, 4);
  return v;
}

Instruction &Instruction::setF32(unsigned i, float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  field[i] = bits;
  return *this;
}

double Instruction::getF64(unsigned i) const {
  double v;
  std::memcpy(&v, &field[i], 8);
  return v;
}

Instruction &Instruction::setF64(unsigned i, double v) {
  std::memcpy(&field[i], &v, 8);
  return *this;
}

Instruction makeInstruction(Opcode op, uint8_t funct, Phase phase,
                            uint8_t deps) {
  Instruction inst;
  inst.opcode = op;
  inst.funct = funct;
  inst.phase = phase;
  inst.deps = deps;
  if (op > Opcode::Invalid && op < Opcode::NumOpcodes) {
    const OpcodeInfo &info = opcodeInfo(op);
    for (unsigned i = 0; i < info.numFields; ++i)
      if (info.fields[i].kind == FieldKind::Count)
        inst.field[i] = 1;
  }
  return inst;
}

void fieldRange(const FieldInfo &info, int64_t &lo, int64_t &hi) {
  unsigned w = info.width;
  switch (info.kind) {
  case FieldKind::Signed:
    lo = w >= 64 ? INT64_MIN : -(int64_t(1) << (w - 1));
    hi = w >= 64 ? INT64_MAX : (int64_t(1) << (w - 1)) - 1;
    return;
  case FieldKind::Count:
    lo = 1;
    hi = int64_t(1) << w;
    return;
  case FieldKind::Imm64:
    lo = INT64_MIN;
    hi = INT64_MAX;
    return;
  default:
    lo = 0;
    hi = w >= 63 ? INT64_MAX : (int64_t(1) << w) - 1;
    return;
  }
}

bool encode(const Instruction &inst, uint8_t out[kInstructionBytes],
            std::string &err) {
  if (inst.opcode == Opcode::Invalid || inst.opcode >= Opcode::NumOpcodes) {
    err = fmt::format("unknown opcode {}", unsigned(inst.opcode));
    return false;
  }
  const OpcodeInfo &info = opcodeInfo(inst.opcode);
  if (info.numFuncts ? inst.funct >= info.numFuncts : inst.funct != 0) {
    err = fmt::format("invalid function code {} for {}", inst.funct, info.name);
    return false;
  }
  if (static_cast<unsigned>(inst.phase) >= kNumPhases) {
    err = fmt::format("invalid phase {}", unsigned(inst.phase));
    return false;
  }
  if (inst.deps & ~allowedDeps(info.queue)) {
    err = fmt::format("dependency flags 0x{:x} not allowed on the {} queue",
                      inst.deps, queueName(info.queue));
    return false;
  }
  uint64_t w[4] = {0, 0, 0, 0};
  putBits(w, 0, 8, static_cast<uint8_t>(inst.opcode));
  putBits(w, 8, 4, static_cast<uint8_t>(inst.phase));
  putBits(w, 12, 4, inst.deps);
  putBits(w, 16, 8, inst.funct);
  unsigned pos = kHeaderBits;
  for (unsigned i = 0; i < info.numFields; ++i) {
    const FieldInfo &f = info.fields[i];
    int64_t v = inst.field[i], lo, hi;
    fieldRange(f, lo, hi);
    if (v < lo || v > hi) {
      err = fmt::format("field '{}' value {} out of range [{}, {}]", f.name, v,
                        lo, hi);
      return false;
    }
    uint64_t bits = f.kind == FieldKind::Count ? uint64_t(v - 1) : uint64_t(v);
    putBits(w, pos, f.width, bits);
    pos += f.width;
  }
  storeWords(w, out);
  return true;
}

bool decode(const uint8_t in[kInstructionBytes], Instruction &inst,
            std::string &err) {
  uint64_t w[4];
  loadWords(in, w);
  uint8_t op = uint8_t(getBits(w, 0, 8));
  if (op == 0 || op >= static_cast<uint8_t>(Opcode::NumOpcodes)) {
    err = fmt::format("unknown opcode 0x{:02x}", op);
    return false;
  }
  inst = Instruction();
  inst.opcode = static_cast<Opcode>(op);
  const OpcodeInfo &info = opcodeInfo(inst.opcode);
  unsigned phase = unsigned(getBits(w, 8, 4));
  if (phase >= kNumPhases) {
    err = fmt::format("invalid phase label {}", phase);
    return false;
  }
  inst.phase = static_cast<Phase>(phase);
  inst.deps = uint8_t(getBits(w, 12, 4));
  if (inst.deps & ~allowedDeps(info.queue)) {
    err = fmt::format("dependency flags 0x{:x} not allowed on the {} queue",
                      inst.deps, queueName(info.queue));
    return false;
  }
  inst.funct = uint8_t(getBits(w, 16, 8));
  if (info.numFuncts ? inst.funct >= info.numFuncts : inst.funct != 0) {
    err = fmt::format("invalid function code {} for {}", inst.funct, info.name);
    return false;
  }
  unsigned pos = kHeaderBits;
  for (unsigned i = 0; i < info.numFields; ++i) {
    const FieldInfo &f = info.fields[i];
    uint64_t bits = getBits(w, pos, f.width);
    pos += f.width;
    int64_t v;
    if (f.kind == FieldKind::Signed && f.width < 64 &&
        (bits >> (f.width - 1)) & 1)
      v = int64_t(bits | ~((uint64_t(1) << f.width) - 1));
    else if (f.kind == FieldKind::Count)
      v = int64_t(bits) + 1;
    else
      v = int64_t(bits);
    inst.field[i] = v;
  }
  // Reserved bits after the last field must be zero, which catches most
  // random or misaligned data.
  for (; pos < kInstructionBits; pos += 32) {
    unsigned width = std::min(32u, kInstructionBits - pos);
    if (getBits(w, pos, width) != 0) {
      err = fmt::format("reserved bits set in {} instruction", info.name);
      return false;
    }
  }
  return true;
}

namespace {

void putU32(std::vector<uint8_t> &out, uint32_t v) {
  for (unsigned i = 0; i < 4; ++i)
    out.push_back(uint8_t(v >> (8 * i)));
}

void putU64(std::vector<uint8_t> &out, uint64_t v) {
  for (unsigned i = 0; i < 8; ++i)
    out.push_back(uint8_t(v >> (8 * i)));
}

uint32_t getU32(const uint8_t *p) {
  uint32_t v = 0;
  for (unsigned i = 0; i < 4; ++i)
    v |= uint32_t(p[i]) << (8 * i);
  return v;
}

uint64_t getU64(const uint8_t *p) {
  uint64_t v = 0;
  for (unsigned i = 0; i < 8; ++i)
    v |= uint64_t(p[i]) << (8 * i);
  return v;
}

std::string instPrefix(uint64_t index, const Instruction &inst) {
  return fmt::format("instruction #{} ({})", index,
                     mnemonic(inst.opcode, inst.funct));
}

} // namespace

const Section *Program::findSection(const std::string &name) const {
  for (const Section &s : sections)
    if (s.name == name)
      return &s;
  return nullptr;
}

namespace {
/// Section names are 1..8 printable ASCII characters without NULs (they are
/// NUL-padded in the file).
bool validSectionName(const std::string &name) {
  if (name.empty() || name.size() > kSectionNameBytes)
    return false;
  for (char c : name)
    if (c < 0x21 || c > 0x7e)
      return false;
  return true;
}
} // namespace

bool writeProgram(const Program &program, std::vector<uint8_t> &bytes,
                  std::string &err) {
  bytes.clear();
  bytes.reserve(kProgramHeaderBytes +
                program.instructions.size() * kInstructionBytes);
  for (size_t i = 0; i < program.sections.size(); ++i) {
    const std::string &name = program.sections[i].name;
    if (!validSectionName(name)) {
      err = fmt::format("section #{}: invalid name '{}' (1 to {} printable "
                        "characters)",
                        i, name, kSectionNameBytes);
      return false;
    }
    for (size_t j = 0; j < i; ++j)
      if (program.sections[j].name == name) {
        err = fmt::format("section '{}' appears twice", name);
        return false;
      }
  }
  for (char c : kProgramMagic)
    bytes.push_back(uint8_t(c));
  putU32(bytes, program.sections.empty() ? kProgramVersionWithoutSections
                                         : kProgramVersion);
  putU32(bytes, kProgramHeaderBytes);
  putU64(bytes, program.instructions.size());
  putU32(bytes, uint32_t(program.segments.size()));
  putU32(bytes, 0);
  uint8_t buf[kInstructionBytes];
  for (size_t i = 0; i < program.instructions.size(); ++i) {
    std::string e;
    if (!encode(program.instructions[i], buf, e)) {
      err = instPrefix(i, program.instructions[i]) + ": " + e;
      return false;
    }
    bytes.insert(bytes.end(), buf, buf + kInstructionBytes);
  }
  for (const DataSegment &seg : program.segments) {
    putU64(bytes, seg.dramAddr);
    putU64(bytes, seg.bytes.size());
    bytes.insert(bytes.end(), seg.bytes.begin(), seg.bytes.end());
  }
  if (program.sections.empty())
    return true;
  putU32(bytes, uint32_t(program.sections.size()));
  putU32(bytes, 0);
  for (const Section &sec : program.sections) {
    for (unsigned i = 0; i < kSectionNameBytes; ++i)
      bytes.push_back(i < sec.name.size() ? uint8_t(sec.name[i]) : 0);
    putU32(bytes, sec.version);
    putU32(bytes, 0);
    putU64(bytes, sec.bytes.size());
    bytes.insert(bytes.end(), sec.bytes.begin(), sec.bytes.end());
  }
  return true;
}

bool validateProgram(const Program &program, std::string &err) {
  uint64_t n = program.instructions.size();
  for (uint64_t i = 0; i < n; ++i) {
    const Instruction &inst = program.instructions[i];
    int64_t target = -1;
    if (inst.opcode == Opcode::Branch)
      target = inst.field[branch::Target];
    else if (inst.opcode == Opcode::Jump &&
             inst.funct != static_cast<uint8_t>(JumpFunct::Jr))
      target = inst.field[jump::Target];
    if (target >= 0 && uint64_t(target) >= n) {
      err = fmt::format("{}: branch target {} is outside the program ({} "
                        "instructions)",
                        instPrefix(i, inst), target, n);
      return false;
    }
  }
  return true;
}

bool readProgram(const uint8_t *data, size_t size, Program &program,
                 std::string &err) {
  program = Program();
  if (size < kProgramHeaderBytes) {
    err = fmt::format("file too short for a program header ({} bytes, need "
                      "{})",
                      size, kProgramHeaderBytes);
    return false;
  }
  if (std::memcmp(data, kProgramMagic, 8) != 0) {
    err = "bad magic: not an adagp program file";
    return false;
  }
  uint32_t version = getU32(data + 8);
  if (version != kProgramVersion && version != kProgramVersionWithoutSections) {
    err = fmt::format("unsupported program version {} (expected {} or {})",
                      version, kProgramVersionWithoutSections,
                      kProgramVersion);
    return false;
  }
  uint32_t headerBytes = getU32(data + 12);
  if (headerBytes != kProgramHeaderBytes) {
    err = fmt::format("bad header size {} (expected {})", headerBytes,
                      kProgramHeaderBytes);
    return false;
  }
  uint64_t count = getU64(data + 16);
  uint32_t numSegments = getU32(data + 24);
  if (getU32(data + 28) != 0) {
    err = "reserved header word is not zero";
    return false;
  }
  uint64_t avail = (size - kProgramHeaderBytes) / kInstructionBytes;
  if (count > kMaxProgramInstructions || count > avail) {
    err = fmt::format("truncated program: header declares {} instructions but "
                      "the file holds at most {}",
                      count, avail);
    return false;
  }
  if (count == 0) {
    err = "program has no instructions";
    return false;
  }
  program.instructions.resize(count);
  const uint8_t *p = data + kProgramHeaderBytes;
  for (uint64_t i = 0; i < count; ++i, p += kInstructionBytes) {
    std::string e;
    if (!decode(p, program.instructions[i], e)) {
      uint8_t op = p[0];
      err = fmt::format("instruction #{} ({}): {}", i, opcodeName(op), e);
      return false;
    }
  }
  const uint8_t *end = data + size;
  for (uint32_t s = 0; s < numSegments; ++s) {
    if (end - p < 16) {
      err = fmt::format("truncated program: data segment #{} header is cut "
                        "off",
                        s);
      return false;
    }
    DataSegment seg;
    seg.dramAddr = getU64(p);
    uint64_t n = getU64(p + 8);
    p += 16;
    if (n > uint64_t(end - p)) {
      err = fmt::format("truncated program: data segment #{} declares {} "
                        "bytes but {} remain",
                        s, n, uint64_t(end - p));
      return false;
    }
    if (seg.dramAddr % 4 != 0 || seg.dramAddr > kDramAddressLimit ||
        n > kDramAddressLimit - seg.dramAddr) {
      err = fmt::format("data segment #{} at 0x{:x} (+{} bytes) is not "
                        "4-byte aligned or lies beyond the 2^40-byte DRAM "
                        "address space",
                        s, seg.dramAddr, n);
      return false;
    }
    seg.bytes.assign(p, p + n);
    p += n;
    program.segments.push_back(std::move(seg));
  }
  if (version == kProgramVersion) {
    if (end - p < 8) {
      err = "truncated program: the section table header is cut off";
      return false;
    }
    uint32_t numSections = getU32(p);
    if (getU32(p + 4) != 0) {
      err = "reserved word of the section table is not zero";
      return false;
    }
    // One encoding per program: without sections it is version 1.
    if (numSections == 0) {
      err = fmt::format("a version {} program with no sections (a program "
                        "without sections is version {})",
                        kProgramVersion, kProgramVersionWithoutSections);
      return false;
    }
    p += 8;
    for (uint32_t s = 0; s < numSections; ++s) {
      if (end - p < 24) {
        err = fmt::format("truncated program: section #{} header is cut off",
                          s);
        return false;
      }
      Section sec;
      unsigned len = 0;
      while (len < kSectionNameBytes && p[len] != 0)
        ++len;
      sec.name.assign(reinterpret_cast<const char *>(p), len);
      for (unsigned i = len; i < kSectionNameBytes; ++i)
        if (p[i] != 0)
          len = 0; // a NUL inside the name: invalid
      sec.version = getU32(p + 8);
      uint64_t n = getU64(p + 16);
      if (len == 0 || !validSectionName(sec.name) || getU32(p + 12) != 0) {
        err = fmt::format("section #{}: invalid name or reserved word", s);
        return false;
      }
      if (program.findSection(sec.name)) {
        err = fmt::format("section '{}' appears twice", sec.name);
        return false;
      }
      p += 24;
      if (n > uint64_t(end - p)) {
        err = fmt::format("truncated program: section '{}' declares {} bytes "
                          "but {} remain",
                          sec.name, n, uint64_t(end - p));
        return false;
      }
      sec.bytes.assign(p, p + n);
      p += n;
      program.sections.push_back(std::move(sec));
    }
  }
  if (p != end) {
    err = fmt::format("{} trailing bytes after the last {}", uint64_t(end - p),
                      version == kProgramVersion ? "section"
                                                 : "data segment");
    return false;
  }
  return validateProgram(program, err);
}

} // namespace adagp::isa
