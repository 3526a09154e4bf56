//===- Assembler.cpp - Assembler and disassembler -------------------------===//

#include "adagp/ISA/Assembler.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <map>
#include <set>

namespace adagp::isa {

namespace {

const char *const kDepNames[4] = {"pop_prev", "pop_next", "push_prev",
                                  "push_next"};

struct SourceLine {
  unsigned lineNo;
  std::vector<std::string> tokens;
};

/// Integer expressions: sums and products of numbers, symbols and
/// parenthesised expressions.
class ExprParser {
public:
  ExprParser(const std::string &s, const std::map<std::string, int64_t> &syms)
      : s(s), syms(syms) {}

  bool parse(int64_t &out, std::string &err) {
    if (!parseSum(out, err))
      return false;
    if (pos != s.size()) {
      err = fmt::format("unexpected '{}' in expression '{}'", s.substr(pos), s);
      return false;
    }
    return true;
  }

private:
  bool parseSum(int64_t &out, std::string &err) {
    if (!parseProduct(out, err))
      return false;
    while (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
      char op = s[pos++];
      int64_t rhs;
      if (!parseProduct(rhs, err))
        return false;
      out = op == '+' ? int64_t(uint64_t(out) + uint64_t(rhs))
                      : int64_t(uint64_t(out) - uint64_t(rhs));
    }
    return true;
  }

  bool parseProduct(int64_t &out, std::string &err) {
    if (!parseFactor(out, err))
      return false;
    while (pos < s.size() && s[pos] == '*') {
      ++pos;
      int64_t rhs;
      if (!parseFactor(rhs, err))
        return false;
      out = int64_t(uint64_t(out) * uint64_t(rhs));
    }
    return true;
  }

  bool parseFactor(int64_t &out, std::string &err) {
    if (pos >= s.size()) {
      err = fmt::format("incomplete expression '{}'", s);
      return false;
    }
    if (s[pos] == '-') {
      ++pos;
      if (!parseFactor(out, err))
        return false;
      out = int64_t(0 - uint64_t(out));
      return true;
    }
    if (s[pos] == '(') {
      ++pos;
      if (!parseSum(out, err))
        return false;
      if (pos >= s.size() || s[pos] != ')') {
        err = fmt::format("missing ')' in '{}'", s);
        return false;
      }
      ++pos;
      return true;
    }
    if (std::isdigit(static_cast<unsigned char>(s[pos]))) {
      size_t start = pos;
      int base = 10;
      if (s.compare(pos, 2, "0x") == 0 || s.compare(pos, 2, "0X") == 0) {
        base = 16;
        pos += 2;
      }
      size_t digits = pos;
      uint64_t v = 0;
      while (pos < s.size() &&
             std::isxdigit(static_cast<unsigned char>(s[pos]))) {
        int d = std::isdigit(static_cast<unsigned char>(s[pos]))
                    ? s[pos] - '0'
                    : std::tolower(s[pos]) - 'a' + 10;
        if (d >= base)
          break;
        uint64_t next = v * base + d;
        if (next / base != v) {
          err = fmt::format("number '{}' is too large", s.substr(start));
          return false;
        }
        v = next;
        ++pos;
      }
      if (pos == digits) {
        err = fmt::format("bad number in '{}'", s);
        return false;
      }
      out = int64_t(v);
      return true;
    }
    if (std::isalpha(static_cast<unsigned char>(s[pos])) || s[pos] == '_' ||
        s[pos] == '.') {
      size_t start = pos;
      while (pos < s.size() &&
             (std::isalnum(static_cast<unsigned char>(s[pos])) ||
              s[pos] == '_' || s[pos] == '.'))
        ++pos;
      std::string name = s.substr(start, pos - start);
      auto it = syms.find(name);
      if (it == syms.end()) {
        err = fmt::format("undefined symbol '{}'", name);
        return false;
      }
      out = it->second;
      return true;
    }
    err = fmt::format("unexpected '{}' in expression '{}'", s[pos], s);
    return false;
  }

  const std::string &s;
  const std::map<std::string, int64_t> &syms;
  size_t pos = 0;
};

bool parseDouble(const std::string &s, double &out) {
  if (s.empty())
    return false;
  char *end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

bool parseFloat(const std::string &s, float &out) {
  if (s.empty())
    return false;
  char *end = nullptr;
  out = std::strtof(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

bool isHexLiteral(const std::string &s) {
  return s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
}

std::string formatF32Bits(uint32_t bits) {
  float v;
  std::memcpy(&v, &bits, 4);
  if (!std::isfinite(v))
    return fmt::format("0x{:08x}", bits);
  return fmt::format("{}", v);
}

std::string formatF64Bits(uint64_t bits) {
  double v;
  std::memcpy(&v, &bits, 8);
  if (!std::isfinite(v))
    return fmt::format("0x{:016x}", bits);
  return fmt::format("{}", v);
}

bool isFloatImm(const Instruction &inst) {
  return inst.opcode == Opcode::Sopi &&
         isFloatScalarFunct(static_cast<ScalarFunct>(inst.funct));
}

bool hasBranchTarget(const Instruction &inst) {
  return inst.opcode == Opcode::Branch ||
         (inst.opcode == Opcode::Jump &&
          inst.funct != static_cast<uint8_t>(JumpFunct::Jr));
}

std::string formatField(const Instruction &inst, unsigned i) {
  const FieldInfo &f = opcodeInfo(inst.opcode).fields[i];
  int64_t v = inst.field[i];
  switch (f.kind) {
  case FieldKind::Reg:
    return fmt::format("r{}", v);
  case FieldKind::OnChip:
    if (v >= int64_t(kAccBase))
      return fmt::format("ACC+0x{:x}", v - int64_t(kAccBase));
    return fmt::format("0x{:x}", v);
  case FieldKind::F32:
    return formatF32Bits(uint32_t(v));
  case FieldKind::Imm64:
    if (isFloatImm(inst))
      return formatF64Bits(uint64_t(v));
    return fmt::format("{}", v);
  case FieldKind::Target:
    // jump.jr ignores its target field: print the raw number, not a label.
    return hasBranchTarget(inst) ? fmt::format("L{}", v) : fmt::format("{}", v);
  case FieldKind::Unsigned:
    if (f.width >= 24)
      return fmt::format("0x{:x}", v);
    return fmt::format("{}", v);
  default:
    return fmt::format("{}", v);
  }
}

std::vector<std::string> tokenize(const std::string &line) {
  std::vector<std::string> toks;
  std::string cur;
  for (char c : line) {
    if (c == '#' || c == ';')
      break;
    if (std::isspace(static_cast<unsigned char>(c)) || c == ',') {
      if (!cur.empty())
        toks.push_back(std::move(cur));
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty())
    toks.push_back(std::move(cur));
  return toks;
}

bool isIdentifier(const std::string &s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0])))
    return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.')
      return false;
  return true;
}

class Assembler {
public:
  Assembler(const std::string &fileName) : fileName(fileName) {
    symbols["ACC"] = kAccBase;
    symbols["SPAD"] = 0;
  }

  bool run(const std::string &text, Program &program, std::string &err) {
    std::vector<SourceLine> lines;
    unsigned lineNo = 0;
    size_t start = 0;
    while (start <= text.size()) {
      size_t nl = text.find('\n', start);
      std::string line = text.substr(
          start, nl == std::string::npos ? std::string::npos : nl - start);
      ++lineNo;
      lines.push_back({lineNo, tokenize(line)});
      if (nl == std::string::npos)
        break;
      start = nl + 1;
    }
    // Pass 1: labels and their instruction indices.
    int64_t index = 0;
    for (SourceLine &l : lines) {
      while (!l.tokens.empty() && l.tokens[0].size() > 1 &&
             l.tokens[0].back() == ':') {
        std::string name = l.tokens[0].substr(0, l.tokens[0].size() - 1);
        if (!isIdentifier(name))
          return fail(l.lineNo, fmt::format("bad label name '{}'", name), err);
        if (symbols.count(name) || labels.count(name))
          return fail(l.lineNo, fmt::format("redefinition of '{}'", name), err);
        labels[name] = index;
        l.tokens.erase(l.tokens.begin());
      }
      if (!l.tokens.empty() && l.tokens[0][0] != '.')
        ++index;
    }
    for (auto &kv : labels)
      symbols[kv.first] = kv.second;
    // Pass 2: directives and instructions.
    for (const SourceLine &l : lines) {
      if (l.tokens.empty())
        continue;
      bool ok = l.tokens[0][0] == '.' ? directive(l, program, err)
                                      : instruction(l, program, err);
      if (!ok)
        return false;
    }
    if (program.instructions.empty())
      return fail(lineNo, "program has no instructions", err);
    std::string e;
    if (!validateProgram(program, e))
      return fail(lineNo, e, err);
    return true;
  }

private:
  bool fail(unsigned line, const std::string &msg, std::string &err) {
    err = fmt::format("{}:{}: {}", fileName, line, msg);
    return false;
  }

  bool evalInt(const std::string &s, int64_t &v, std::string &err) {
    ExprParser p(s, symbols);
    return p.parse(v, err);
  }

  bool directive(const SourceLine &l, Program &program, std::string &err) {
    const std::string &d = l.tokens[0];
    std::string e;
    if (d == ".equ") {
      if (l.tokens.size() != 3 || !isIdentifier(l.tokens[1]))
        return fail(l.lineNo, "expected '.equ NAME VALUE'", err);
      if (labels.count(l.tokens[1]) ||
          (symbols.count(l.tokens[1]) && l.tokens[1] != "ACC" &&
           l.tokens[1] != "SPAD" && !equs.count(l.tokens[1])))
        return fail(l.lineNo, fmt::format("redefinition of '{}'", l.tokens[1]),
                    err);
      int64_t v;
      if (!evalInt(l.tokens[2], v, e))
        return fail(l.lineNo, e, err);
      symbols[l.tokens[1]] = v;
      equs.insert(l.tokens[1]);
      return true;
    }
    if (d == ".phase") {
      if (l.tokens.size() != 2 || !parsePhase(l.tokens[1], phase))
        return fail(l.lineNo,
                    "expected '.phase NAME' with a phase label (other, "
                    "forward, backward, update, loss, predictor, reorg, "
                    "control, io, eval)",
                    err);
      return true;
    }
    if (d == ".data" || d == ".segment") {
      if (l.tokens.size() < 3)
        return fail(l.lineNo,
                    fmt::format("expected '{} ADDR f32|i32|hex VALUES...'", d),
                    err);
      int64_t addr;
      if (!evalInt(l.tokens[1], addr, e))
        return fail(l.lineNo, e, err);
      if (addr < 0 || addr % 4 != 0 || uint64_t(addr) >= kDramAddressLimit)
        return fail(l.lineNo,
                    fmt::format("data address {} must be a multiple of 4 in "
                                "[0, 2^40)",
                                addr),
                    err);
      DataSegment seg;
      seg.dramAddr = uint64_t(addr);
      const std::string &type = l.tokens[2];
      for (size_t i = 3; i < l.tokens.size(); ++i) {
        const std::string &t = l.tokens[i];
        uint32_t word;
        if (type == "f32") {
          float v;
          if (isHexLiteral(t)) {
            int64_t bits;
            if (!evalInt(t, bits, e) || bits < 0 || bits > 0xffffffffLL)
              return fail(l.lineNo, fmt::format("bad f32 bits '{}'", t), err);
            word = uint32_t(bits);
          } else if (parseFloat(t, v)) {
            std::memcpy(&word, &v, 4);
          } else {
            return fail(l.lineNo, fmt::format("bad f32 value '{}'", t), err);
          }
        } else if (type == "i32") {
          int64_t v;
          if (!evalInt(t, v, e))
            return fail(l.lineNo, e, err);
          if (v < INT32_MIN || v > int64_t(UINT32_MAX))
            return fail(l.lineNo, fmt::format("i32 value {} out of range", v),
                        err);
          word = uint32_t(v);
        } else if (type == "hex") {
          if (t.size() % 2 != 0)
            return fail(l.lineNo, "hex data needs an even number of digits",
                        err);
          for (size_t k = 0; k < t.size(); k += 2) {
            char buf[3] = {t[k], t[k + 1], 0};
            char *end;
            long b = std::strtol(buf, &end, 16);
            if (end != buf + 2)
              return fail(l.lineNo, fmt::format("bad hex digits '{}'", buf),
                          err);
            seg.bytes.push_back(uint8_t(b));
          }
          continue;
        } else {
          return fail(
              l.lineNo,
              fmt::format("unknown data type '{}' (f32, i32, hex)", type), err);
        }
        for (unsigned b = 0; b < 4; ++b)
          seg.bytes.push_back(uint8_t(word >> (8 * b)));
      }
      if (seg.bytes.size() > kDramAddressLimit - uint64_t(addr))
        return fail(l.lineNo, "data extends beyond the 2^40-byte DRAM", err);
      // A .data line continuing the previous segment extends it, so long
      // data written over many lines stays one segment. .segment always
      // starts a new one (the disassembler uses it for segments that merely
      // touch, so that files round-trip byte for byte).
      if (d == ".data" && !program.segments.empty()) {
        DataSegment &prev = program.segments.back();
        if (prev.dramAddr + prev.bytes.size() == seg.dramAddr) {
          prev.bytes.insert(prev.bytes.end(), seg.bytes.begin(),
                            seg.bytes.end());
          return true;
        }
      }
      program.segments.push_back(std::move(seg));
      return true;
    }
    if (d == ".section") {
      // .section NAME VERSION hex BYTES: program metadata (ISA.h, Section).
      // Lines naming the section again extend it, like .data.
      if (l.tokens.size() < 4 || l.tokens[3] != "hex")
        return fail(l.lineNo, "expected '.section NAME VERSION hex BYTES...'",
                    err);
      const std::string &name = l.tokens[1];
      if (name.empty() || name.size() > kSectionNameBytes)
        return fail(l.lineNo,
                    fmt::format("section name '{}' must have 1 to {} "
                                "characters",
                                name, kSectionNameBytes),
                    err);
      int64_t version;
      if (!evalInt(l.tokens[2], version, e) || version < 0 ||
          version > int64_t(UINT32_MAX))
        return fail(l.lineNo, fmt::format("bad section version '{}'",
                                          l.tokens[2]),
                    err);
      Section *sec = nullptr;
      for (Section &s : program.sections)
        if (s.name == name)
          sec = &s;
      if (sec && sec->version != uint32_t(version))
        return fail(l.lineNo,
                    fmt::format("section '{}' continued with version {} "
                                "(was {})",
                                name, version, sec->version),
                    err);
      if (!sec) {
        program.sections.push_back(Section{name, uint32_t(version), {}});
        sec = &program.sections.back();
      }
      for (size_t i = 4; i < l.tokens.size(); ++i) {
        const std::string &t = l.tokens[i];
        if (t.size() % 2 != 0)
          return fail(l.lineNo, "hex data needs an even number of digits",
                      err);
        for (size_t k = 0; k < t.size(); k += 2) {
          char buf[3] = {t[k], t[k + 1], 0};
          char *end;
          long b = std::strtol(buf, &end, 16);
          if (end != buf + 2)
            return fail(l.lineNo, fmt::format("bad hex digits '{}'", buf),
                        err);
          sec->bytes.push_back(uint8_t(b));
        }
      }
      return true;
    }
    return fail(l.lineNo, fmt::format("unknown directive '{}'", d), err);
  }

  bool instruction(const SourceLine &l, Program &program, std::string &err) {
    const std::string &mn = l.tokens[0];
    size_t dot = mn.find('.');
    std::string opName = mn.substr(0, dot);
    std::string functName =
        dot == std::string::npos ? std::string() : mn.substr(dot + 1);
    Opcode op = Opcode::Invalid;
    for (unsigned o = 1; o < static_cast<unsigned>(Opcode::NumOpcodes); ++o)
      if (opName == opcodeInfo(static_cast<Opcode>(o)).name)
        op = static_cast<Opcode>(o);
    if (op == Opcode::Invalid)
      return fail(l.lineNo, fmt::format("unknown mnemonic '{}'", mn), err);
    const OpcodeInfo &info = opcodeInfo(op);
    uint8_t funct = 0;
    if (info.numFuncts) {
      bool found = false;
      for (unsigned f = 0; f < info.numFuncts; ++f)
        if (functName == info.functNames[f]) {
          funct = uint8_t(f);
          found = true;
        }
      if (!found) {
        std::string all;
        for (unsigned f = 0; f < info.numFuncts; ++f)
          all += (f ? ", " : "") + std::string(info.functNames[f]);
        return fail(l.lineNo,
                    fmt::format("'{}' needs a function suffix '{}.F' with F "
                                "one of: {}",
                                mn, opName, all),
                    err);
      }
    } else if (!functName.empty()) {
      return fail(l.lineNo,
                  fmt::format("'{}' takes no function suffix", opName), err);
    }
    Instruction inst = makeInstruction(op, funct, phase, 0);
    std::vector<bool> seen(info.numFields, false);
    std::string e;
    for (size_t t = 1; t < l.tokens.size(); ++t) {
      const std::string &tok = l.tokens[t];
      size_t eq = tok.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == tok.size())
        return fail(l.lineNo, fmt::format("expected key=value, got '{}'", tok),
                    err);
      std::string key = tok.substr(0, eq), val = tok.substr(eq + 1);
      if (key == "phase") {
        if (!parsePhase(val, inst.phase))
          return fail(l.lineNo, fmt::format("unknown phase '{}'", val), err);
        continue;
      }
      if (key == "deps") {
        size_t p = 0;
        while (p <= val.size()) {
          size_t bar = val.find('|', p);
          std::string name = val.substr(
              p, bar == std::string::npos ? std::string::npos : bar - p);
          bool ok = false;
          for (unsigned b = 0; b < 4; ++b)
            if (name == kDepNames[b]) {
              inst.deps |= uint8_t(1u << b);
              ok = true;
            }
          if (!ok && name != "none")
            return fail(l.lineNo,
                        fmt::format("unknown dependency flag '{}' (pop_prev, "
                                    "pop_next, push_prev, push_next)",
                                    name),
                        err);
          if (bar == std::string::npos)
            break;
          p = bar + 1;
        }
        continue;
      }
      int idx = -1;
      for (unsigned i = 0; i < info.numFields; ++i)
        if (key == info.fields[i].name)
          idx = int(i);
      if (idx < 0) {
        std::string all;
        for (unsigned i = 0; i < info.numFields; ++i)
          all += (i ? ", " : "") + std::string(info.fields[i].name);
        return fail(l.lineNo,
                    fmt::format("'{}' has no field '{}' (fields: {}{}phase, "
                                "deps)",
                                opName, key, all, all.empty() ? "" : ", "),
                    err);
      }
      if (seen[idx])
        return fail(l.lineNo, fmt::format("field '{}' given twice", key), err);
      seen[idx] = true;
      if (!parseFieldValue(inst, unsigned(idx), val, e))
        return fail(l.lineNo, fmt::format("field '{}': {}", key, e), err);
    }
    for (unsigned i = 0; i < info.numFields; ++i)
      if (info.fields[i].required && !seen[i])
        return fail(
            l.lineNo,
            fmt::format("'{}' requires field '{}'", mn, info.fields[i].name),
            err);
    uint8_t buf[kInstructionBytes];
    if (!encode(inst, buf, e))
      return fail(l.lineNo, fmt::format("'{}': {}", mn, e), err);
    program.instructions.push_back(inst);
    return true;
  }

  bool parseFieldValue(Instruction &inst, unsigned idx, const std::string &val,
                       std::string &err) {
    const FieldInfo &f = opcodeInfo(inst.opcode).fields[idx];
    switch (f.kind) {
    case FieldKind::Reg: {
      if (val.size() < 2 || val[0] != 'r')
        break;
      char *end;
      long r = std::strtol(val.c_str() + 1, &end, 10);
      if (*end != 0 || r < 0 || r >= long(kNumRegisters) ||
          !std::isdigit(static_cast<unsigned char>(val[1]))) {
        err = fmt::format("bad register '{}' (r0..r31)", val);
        return false;
      }
      inst.field[idx] = r;
      return true;
    }
    case FieldKind::F32: {
      if (isHexLiteral(val)) {
        int64_t bits;
        if (!evalInt(val, bits, err))
          return false;
        if (bits < 0 || bits > 0xffffffffLL) {
          err = "f32 bit pattern out of range";
          return false;
        }
        inst.field[idx] = bits;
        return true;
      }
      float v;
      if (!parseFloat(val, v)) {
        err = fmt::format("bad floating-point value '{}'", val);
        return false;
      }
      inst.setF32(idx, v);
      return true;
    }
    case FieldKind::Imm64:
      if (isFloatImm(inst) && !isHexLiteral(val)) {
        double d;
        if (!parseDouble(val, d)) {
          err = fmt::format("bad floating-point value '{}'", val);
          return false;
        }
        inst.setF64(idx, d);
        return true;
      }
      break;
    default:
      break;
    }
    if (f.kind == FieldKind::Reg) {
      err = fmt::format("bad register '{}' (r0..r31)", val);
      return false;
    }
    int64_t v;
    if (!evalInt(val, v, err))
      return false;
    inst.field[idx] = v;
    return true;
  }

  std::string fileName;
  std::map<std::string, int64_t> symbols;
  std::map<std::string, int64_t> labels;
  std::set<std::string> equs;
  Phase phase = Phase::Other;
};

} // namespace

bool assemble(const std::string &text, const std::string &fileName,
              Program &program, std::string &err) {
  program = Program();
  Assembler a(fileName);
  return a.run(text, program, err);
}

std::string formatInstruction(const Instruction &inst, bool withPhase) {
  const OpcodeInfo &info = opcodeInfo(inst.opcode);
  std::string out = mnemonic(inst.opcode, inst.funct);
  for (unsigned i = 0; i < info.numFields; ++i) {
    const FieldInfo &f = info.fields[i];
    int64_t def = f.kind == FieldKind::Count ? 1 : 0;
    bool always =
        f.required || (f.kind == FieldKind::Target && hasBranchTarget(inst));
    if (!always && inst.field[i] == def)
      continue;
    out += fmt::format(" {}={}", f.name, formatField(inst, i));
  }
  if (inst.deps) {
    out += " deps=";
    bool first = true;
    for (unsigned b = 0; b < 4; ++b)
      if (inst.deps & (1u << b)) {
        out += (first ? "" : "|") + std::string(kDepNames[b]);
        first = false;
      }
  }
  if (withPhase)
    out += fmt::format(" phase={}", phaseName(inst.phase));
  return out;
}

std::string disassemble(const Program &program) {
  std::string out = fmt::format(
      "# adagp accelerator program: {} instructions, {} data segments\n",
      program.instructions.size(), program.segments.size());
  const DataSegment *prevSeg = nullptr;
  for (const DataSegment &seg : program.segments) {
    bool touchesPrev =
        prevSeg && prevSeg->dramAddr + prevSeg->bytes.size() == seg.dramAddr;
    out += fmt::format("{} 0x{:x} hex ", touchesPrev ? ".segment" : ".data",
                       seg.dramAddr);
    prevSeg = &seg;
    static const char *digits = "0123456789abcdef";
    for (uint8_t b : seg.bytes) {
      out.push_back(digits[b >> 4]);
      out.push_back(digits[b & 15]);
    }
    out.push_back('\n');
  }
  for (const Section &sec : program.sections) {
    out += fmt::format(".section {} {} hex", sec.name, sec.version);
    static const char *digits = "0123456789abcdef";
    // 64 bytes per line keeps metadata sections diffable.
    for (size_t i = 0; i < sec.bytes.size(); ++i) {
      if (i % 64 == 0 && i != 0)
        out += fmt::format("\n.section {} {} hex", sec.name, sec.version);
      if (i % 64 == 0)
        out.push_back(' ');
      out.push_back(digits[sec.bytes[i] >> 4]);
      out.push_back(digits[sec.bytes[i] & 15]);
    }
    out.push_back('\n');
  }
  std::set<int64_t> targets;
  for (const Instruction &inst : program.instructions)
    if (hasBranchTarget(inst))
      targets.insert(inst.opcode == Opcode::Branch ? inst.field[branch::Target]
                                                   : inst.field[jump::Target]);
  Phase phase = Phase::Other;
  for (size_t i = 0; i < program.instructions.size(); ++i) {
    const Instruction &inst = program.instructions[i];
    if (inst.phase != phase) {
      phase = inst.phase;
      out += fmt::format(".phase {}\n", phaseName(phase));
    }
    if (targets.count(int64_t(i)))
      out += fmt::format("L{}:\n", i);
    out += fmt::format("  {}  # {}\n", formatInstruction(inst, false), i);
  }
  return out;
}

} // namespace adagp::isa
