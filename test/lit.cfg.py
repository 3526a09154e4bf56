# -*- Python -*-
import os

import lit.formats
from lit.llvm import llvm_config

config.name = "ADAGP"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".onnxtxt", ".test"]
# Inputs/ directories hold data for tests, not tests.
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.adagp_obj_root, "test")

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.adagp_tools_dir, append_path=True)

config.substitutions.append(("%adagp_src_root", config.adagp_src_root))
config.substitutions.append(("%adagp_obj_root", config.adagp_obj_root))
config.substitutions.append(("%models", os.path.join(config.adagp_src_root, "models")))
config.substitutions.append(("%python", config.python_executable))
config.substitutions.append(("%adagp_bin", config.adagp_tools_dir))

# Tests too slow for the default suite and CI (every model's gradients
# against PyTorch: about an hour on two cores) are marked `REQUIRES: long`.
# ADAGP_LONG_TESTS=1 in the environment (or `lit --param long=1`) runs them.
if lit_config.params.get("long", os.environ.get("ADAGP_LONG_TESTS", "0")) == "1":
    config.available_features.add("long")
if os.path.exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"):
    config.available_features.add("fashion-mnist")

# Builds configured without a component skip its tests (-DADAGP_ENABLE_SIM=OFF
# while the simulator is developed separately).
if not os.path.exists(os.path.join(config.adagp_tools_dir, "adagp-sim")):
    config.excludes.append("Sim")
if not os.path.exists(os.path.join(config.adagp_tools_dir, "adagp-opt")):
    config.excludes.extend(["Dialect", "Target", "Conversion", "Transforms", "Integration"])
