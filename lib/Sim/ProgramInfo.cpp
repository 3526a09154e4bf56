//===- ProgramInfo.cpp - Symbol table and DMA tags of programs ------------===//

#include "adagp/ISA/ProgramInfo.h"

#include <cstring>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace adagp::isa {

namespace {
const char *const kClassNames[] = {
#define X(id, name) name,
    ADAGP_TENSOR_CLASSES(X)
#undef X
};
static_assert(sizeof(kClassNames) / sizeof(kClassNames[0]) ==
                  kNumTensorClasses,
              "tensor class names out of sync");
} // namespace

const char *tensorClassName(TensorClass cls) {
  unsigned i = static_cast<unsigned>(cls);
  return i < kNumTensorClasses ? kClassNames[i] : "invalid";
}

bool parseTensorClass(const std::string &name, TensorClass &cls) {
  for (unsigned i = 0; i < kNumTensorClasses; ++i)
    if (name == kClassNames[i]) {
      cls = static_cast<TensorClass>(i);
      return true;
    }
  return false;
}

int64_t DramRegion::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

const DramRegion *ProgramInfo::find(const std::string &name) const {
  for (const DramRegion &r : regions)
    if (r.name == name)
      return &r;
  return nullptr;
}

namespace {

void putSection(Program &program, Section section) {
  for (Section &s : program.sections)
    if (s.name == section.name) {
      s = std::move(section);
      return;
    }
  program.sections.push_back(std::move(section));
}

unsigned dtypeBytes(const std::string &dtype) {
  if (dtype == "f32" || dtype == "i32")
    return 4;
  if (dtype == "i64")
    return 8;
  return 0;
}

bool isPermutation(const std::vector<int64_t> &layout, size_t rank) {
  if (layout.empty())
    return true;
  if (layout.size() != rank)
    return false;
  std::vector<bool> seen(rank, false);
  for (int64_t d : layout) {
    if (d < 0 || size_t(d) >= rank || seen[d])
      return false;
    seen[d] = true;
  }
  return true;
}

} // namespace

bool writeProgramInfo(const ProgramInfo &info, Program &program,
                      std::string &err) {
  using nlohmann::ordered_json;
  ordered_json j;
  j["version"] = kSymbolTableVersion;
  j["model"] = info.model;
  j["mode"] = info.mode;
  j["config"] = info.config;
  j["batch_size"] = info.batchSize;
  j["classes"] = info.classes;
  if (info.predictorEvery < 1) {
    err = fmt::format("predictor_every must be at least 1, got {}",
                      info.predictorEvery);
    return false;
  }
  if (info.predictorEvery > 1 && !info.hasPlainBPStep) {
    err = fmt::format("predictor_every is {} but the program has no plain BP "
                      "step",
                      info.predictorEvery);
    return false;
  }
  j["predictor_every"] = info.predictorEvery;
  j["bp_plain_step"] = info.hasPlainBPStep;
  ordered_json regions = ordered_json::array();
  for (const DramRegion &r : info.regions) {
    if (!isPermutation(r.layout, r.shape.size())) {
      err = fmt::format("region '{}': layout is not a permutation of its {} "
                        "dimensions",
                        r.name, r.shape.size());
      return false;
    }
    ordered_json rj;
    rj["name"] = r.name;
    rj["role"] = r.role;
    rj["class"] = tensorClassName(r.cls);
    rj["offset"] = r.offset;
    rj["bytes"] = r.bytes;
    rj["dtype"] = r.dtype;
    rj["shape"] = r.shape;
    rj["layout"] = r.layout;
    regions.push_back(std::move(rj));
  }
  j["regions"] = std::move(regions);
  std::string text = j.dump(1);
  putSection(program, Section{kSymbolTableSection, kSymbolTableVersion,
                              std::vector<uint8_t>(text.begin(), text.end())});
  if (!info.dramTags.empty()) {
    if (info.dramTags.size() != program.instructions.size()) {
      err = fmt::format("DMA tag table has {} entries for {} instructions",
                        info.dramTags.size(), program.instructions.size());
      return false;
    }
    putSection(program,
               Section{kDramTagSection, kDramTagVersion, info.dramTags});
  }
  return true;
}

bool readProgramInfo(const Program &program, ProgramInfo &info,
                     std::string &err) {
  using nlohmann::json;
  info = ProgramInfo();
  const Section *sym = program.findSection(kSymbolTableSection);
  if (!sym) {
    err = "the program has no symbol table (it was not compiled from a "
          "model)";
    return false;
  }
  if (sym->version != kSymbolTableVersion) {
    err = fmt::format("symbol table version {} is not supported (expected "
                      "{})",
                      sym->version, kSymbolTableVersion);
    return false;
  }
  json j = json::parse(sym->bytes.begin(), sym->bytes.end(), nullptr,
                       /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    err = "the symbol table is not a JSON object";
    return false;
  }
  try {
    info.model = j.value("model", "");
    info.mode = j.value("mode", "");
    info.config = j.value("config", "");
    info.batchSize = j.at("batch_size").get<int64_t>();
    info.classes = j.at("classes").get<int64_t>();
    // Absent in programs compiled before predictor-every existed.
    info.predictorEvery = j.value("predictor_every", int64_t(1));
    info.hasPlainBPStep = j.value("bp_plain_step", false);
    if (info.predictorEvery < 1 ||
        (info.predictorEvery > 1 && !info.hasPlainBPStep)) {
      err = fmt::format(
          "symbol table: predictor_every {} {}", info.predictorEvery,
          info.predictorEvery < 1 ? "is not at least 1"
                                  : "without a plain BP step (bp_plain_step)");
      return false;
    }
    for (const json &rj : j.at("regions")) {
      DramRegion r;
      r.name = rj.at("name").get<std::string>();
      r.role = rj.at("role").get<std::string>();
      if (!parseTensorClass(rj.at("class").get<std::string>(), r.cls)) {
        err = fmt::format("region '{}': unknown class '{}'", r.name,
                          rj.at("class").get<std::string>());
        return false;
      }
      r.offset = rj.at("offset").get<uint64_t>();
      r.bytes = rj.at("bytes").get<uint64_t>();
      r.dtype = rj.at("dtype").get<std::string>();
      r.shape = rj.at("shape").get<std::vector<int64_t>>();
      r.layout = rj.at("layout").get<std::vector<int64_t>>();
      unsigned eb = dtypeBytes(r.dtype);
      if (!eb || !isPermutation(r.layout, r.shape.size()) ||
          uint64_t(r.numElements()) * eb > r.bytes) {
        err = fmt::format("region '{}': bad dtype, layout or size", r.name);
        return false;
      }
      info.regions.push_back(std::move(r));
    }
  } catch (const json::exception &e) {
    err = fmt::format("malformed symbol table: {}", e.what());
    return false;
  }
  if (const Section *tags = program.findSection(kDramTagSection)) {
    if (tags->version != kDramTagVersion ||
        tags->bytes.size() != program.instructions.size()) {
      err = fmt::format("DMA tag section (version {}, {} entries) does not "
                        "match the program ({} instructions)",
                        tags->version, tags->bytes.size(),
                        program.instructions.size());
      return false;
    }
    info.dramTags = tags->bytes;
  }
  return true;
}

namespace {
/// Visits every element in logical row-major order and calls
/// f(logicalIndex, storageIndex).
template <typename F>
void forEachElement(const std::vector<int64_t> &shape,
                    const std::vector<int64_t> &layout, F f) {
  size_t rank = shape.size();
  int64_t total = 1;
  for (int64_t d : shape)
    total *= d;
  if (layout.empty() || rank == 0) {
    for (int64_t i = 0; i < total; ++i)
      f(i, i);
    return;
  }
  // Storage stride of each logical dimension.
  std::vector<int64_t> storageStride(rank);
  int64_t s = 1;
  for (size_t i = rank; i-- > 0;) {
    storageStride[layout[i]] = s;
    s *= shape[layout[i]];
  }
  std::vector<int64_t> idx(rank, 0);
  int64_t storage = 0;
  for (int64_t logical = 0; logical < total; ++logical) {
    f(logical, storage);
    for (size_t d = rank; d-- > 0;) {
      if (++idx[d] < shape[d]) {
        storage += storageStride[d];
        break;
      }
      storage -= storageStride[d] * (shape[d] - 1);
      idx[d] = 0;
    }
  }
}
} // namespace

void logicalToStorage(const void *logical, void *storage,
                      const std::vector<int64_t> &shape,
                      const std::vector<int64_t> &layout,
                      unsigned elementBytes) {
  auto *in = static_cast<const uint8_t *>(logical);
  auto *out = static_cast<uint8_t *>(storage);
  forEachElement(shape, layout, [&](int64_t l, int64_t s) {
    std::memcpy(out + s * elementBytes, in + l * elementBytes, elementBytes);
  });
}

void storageToLogical(const void *storage, void *logical,
                      const std::vector<int64_t> &shape,
                      const std::vector<int64_t> &layout,
                      unsigned elementBytes) {
  auto *in = static_cast<const uint8_t *>(storage);
  auto *out = static_cast<uint8_t *>(logical);
  forEachElement(shape, layout, [&](int64_t l, int64_t s) {
    std::memcpy(out + l * elementBytes, in + s * elementBytes, elementBytes);
  });
}

} // namespace adagp::isa
