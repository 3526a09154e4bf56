#!/usr/bin/python3
"""Build the adagp model zoo in PyTorch and export it to ONNX in training form.

Every model is constructed right after ``torch.manual_seed(SEED)`` with its default initialisation,
so the weights in the ONNX files are reproducible. The export keeps the training semantics the
compiler needs (``TrainingMode.TRAINING``: BatchNormalization with batch statistics and running-stat
outputs, Dropout with its training flag), a symbolic batch dimension ``N``, and the PyTorch
parameter/buffer names as initializer names (``conv1.weight``, ``bn1.running_mean``).

Two details of ``torch.onnx.export`` are corrected after export:
  * tracing runs one training-mode forward pass, which moves the BatchNorm running statistics, so
    the initializers are overwritten with the module's state from *before* the export (the files
    hold the freshly initialised model, identical to what ``build(name)`` returns);
  * every initializer name is checked against the module's ``state_dict`` (PyTorch would rename
    folded or fused constants to ``onnx::...``; constant folding is off, so none are).

Run ``models/generate.py --list`` for the zoo, ``models/generate.py --all`` to write every model and
refresh ``models/README.md``. Other scripts import this module for ``build``/``SPECS``.
"""

import argparse
import dataclasses
import io
import os
import sys
import time
import warnings
from typing import Callable, Tuple

import onnx
import torch
import torchvision
from onnx import numpy_helper
from torch import nn
from torchvision import models as tvm
from torchvision.models.resnet import BasicBlock

import summarize  # sibling script in models/

MODELS_DIR = os.path.dirname(os.path.abspath(__file__))
SEED = 0
DEFAULT_OPSET = 13
NUM_CLASSES = 10
EXAMPLE_BATCH = 2  # > 1 so that BatchNorm on 1x1 feature maps has a defined batch variance
COMMIT_LIMIT_BYTES = 5 * 1024 * 1024


class MLP(nn.Module):
    """784-256-128-10 perceptron with ReLU, flattening a 1x28x28 image first."""

    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(784, 256)
        self.fc2 = nn.Linear(256, 128)
        self.fc3 = nn.Linear(128, NUM_CLASSES)

    def forward(self, x):
        x = torch.relu(self.fc1(self.flatten(x)))
        x = torch.relu(self.fc2(x))
        return self.fc3(x)


class LeNet5(nn.Module):
    """LeNet-5 (LeCun et al. 1998) with ReLU and max pooling, for 1x28x28 inputs (conv1 pads by 2)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, kernel_size=5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, kernel_size=5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, NUM_CLASSES)

    def forward(self, x):
        x = nn.functional.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = nn.functional.max_pool2d(torch.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        return self.fc3(x)


class CifarResNet(nn.Module):
    """CIFAR ResNet-(6n+2) of He et al. 2016 (section 4.2): 3x3 conv with 16 channels, three stages
    of n basic blocks with 16/32/64 channels (the first block of stages 2 and 3 has stride 2),
    global average pooling and a linear classifier.

    Shortcuts use option B: identity where shapes agree, a 1x1 convolution (stride 2) plus
    BatchNorm where they change. Option A's zero-padding shortcut would add strided Slice and
    channel Pad nodes for no accuracy benefit. The blocks are torchvision's ``BasicBlock``, so
    parameter names follow torchvision (``layer1.0.conv1.weight``, ``layer2.0.downsample.0.weight``).
    """

    def __init__(self, depth):
        super().__init__()
        if (depth - 2) % 6:
            raise ValueError(f"CIFAR ResNet depth must be 6n+2, got {depth}")
        blocks = (depth - 2) // 6
        self.conv1 = nn.Conv2d(3, 16, kernel_size=3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        self.in_channels = 16
        self.layer1 = self._stage(16, blocks, stride=1)
        self.layer2 = self._stage(32, blocks, stride=2)
        self.layer3 = self._stage(64, blocks, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(64, NUM_CLASSES)

    def _stage(self, channels, blocks, stride):
        layers = []
        for i in range(blocks):
            block_stride = stride if i == 0 else 1
            downsample = None
            if block_stride != 1 or self.in_channels != channels:
                downsample = nn.Sequential(
                    nn.Conv2d(self.in_channels, channels, kernel_size=1, stride=block_stride,
                              bias=False),
                    nn.BatchNorm2d(channels))
            layers.append(BasicBlock(self.in_channels, channels, block_stride, downsample))
            self.in_channels = channels
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def cifar_torchvision_resnet(constructor):
    """torchvision ResNet with the usual CIFAR stem: conv1 3x3 stride 1 (instead of 7x7 stride 2)
    and no max pool, so 32x32 inputs keep enough resolution. The new conv1 gets torchvision's own
    ResNet initialisation (Kaiming normal, fan_out)."""
    model = constructor(num_classes=NUM_CLASSES)
    model.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
    nn.init.kaiming_normal_(model.conv1.weight, mode="fan_out", nonlinearity="relu")
    model.maxpool = nn.Identity()
    return model


def cifar_torchvision_vgg(constructor):
    """torchvision VGG-BN with a CIFAR classifier: the five max pools already bring 32x32 to 1x1, so
    the 7x7 adaptive pool becomes a 1x1 one (exported as GlobalAveragePool) and the 25088-4096-4096
    classifier a single 512->10 linear layer, initialised like torchvision's VGG linears
    (normal(0, 0.01), zero bias)."""
    model = constructor(num_classes=NUM_CLASSES)
    model.avgpool = nn.AdaptiveAvgPool2d((1, 1))
    model.classifier = nn.Linear(512, NUM_CLASSES)
    nn.init.normal_(model.classifier.weight, 0, 0.01)
    nn.init.constant_(model.classifier.bias, 0)
    return model


def cifar_mobilenet_v2():
    """torchvision MobileNetV2 with the first convolution at stride 1 (CIFAR adaptation), so the
    last feature map is 2x2 instead of 1x1. The classifier keeps its Dropout(0.2)."""
    model = tvm.mobilenet_v2(num_classes=NUM_CLASSES)
    model.features[0][0].stride = (1, 1)
    return model


def vit_tiny():
    """A 4-layer, 128-wide vision transformer on 4x4 patches of 32x32 images."""
    return tvm.VisionTransformer(image_size=32, patch_size=4, num_layers=4, num_heads=4,
                                 hidden_dim=128, mlp_dim=256, num_classes=NUM_CLASSES)


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """One ONNX file of the zoo."""
    name: str                      # file stem: models/<name>.onnx
    family: str
    build: Callable[[], nn.Module]
    input_shape: Tuple[int, int, int]
    provenance: str                # where the architecture comes from and what was adapted
    opset: int = DEFAULT_OPSET
    committed: bool = False        # small enough to live in git; otherwise generated on demand


MNIST = (1, 28, 28)
CIFAR = (3, 32, 32)
SPECS = [
    ModelSpec("mlp", "MLP", MLP, MNIST,
              "784-256-128-10 multilayer perceptron with ReLU (adagp)", committed=True),
    ModelSpec("lenet5", "LeNet", LeNet5, MNIST,
              "LeNet-5 (LeCun et al. 1998) with ReLU and max pooling; conv1 padded by 2",
              committed=True),
    ModelSpec("lenet5_opset9", "LeNet", LeNet5, MNIST,
              "`lenet5` exported at opset 9 (importer test)", opset=9, committed=True),
    ModelSpec("lenet5_opset17", "LeNet", LeNet5, MNIST,
              "`lenet5` exported at opset 17 (importer test)", opset=17, committed=True),
    ModelSpec("resnet20", "ResNet (CIFAR)", lambda: CifarResNet(20), CIFAR,
              "He et al. 2016 CIFAR ResNet-20, option-B (1x1 conv + BN) shortcuts", committed=True),
    ModelSpec("resnet20_opset17", "ResNet (CIFAR)", lambda: CifarResNet(20), CIFAR,
              "`resnet20` exported at opset 17 (3-output BatchNormalization, importer test)",
              opset=17, committed=True),
    ModelSpec("resnet56", "ResNet (CIFAR)", lambda: CifarResNet(56), CIFAR,
              "He et al. 2016 CIFAR ResNet-56, option-B (1x1 conv + BN) shortcuts", committed=True),
    ModelSpec("resnet18", "ResNet", lambda: cifar_torchvision_resnet(tvm.resnet18), CIFAR,
              "torchvision `resnet18`; CIFAR stem: conv1 3x3 stride 1, no max pool"),
    ModelSpec("resnet34", "ResNet", lambda: cifar_torchvision_resnet(tvm.resnet34), CIFAR,
              "torchvision `resnet34`; CIFAR stem: conv1 3x3 stride 1, no max pool"),
    ModelSpec("resnet50", "ResNet", lambda: cifar_torchvision_resnet(tvm.resnet50), CIFAR,
              "torchvision `resnet50`; CIFAR stem: conv1 3x3 stride 1, no max pool"),
    ModelSpec("vgg11_bn", "VGG", lambda: cifar_torchvision_vgg(tvm.vgg11_bn), CIFAR,
              "torchvision `vgg11_bn`; 1x1 average pool and a single 512->10 classifier"),
    ModelSpec("vgg13_bn", "VGG", lambda: cifar_torchvision_vgg(tvm.vgg13_bn), CIFAR,
              "torchvision `vgg13_bn`; 1x1 average pool and a single 512->10 classifier"),
    ModelSpec("vgg16_bn", "VGG", lambda: cifar_torchvision_vgg(tvm.vgg16_bn), CIFAR,
              "torchvision `vgg16_bn`; 1x1 average pool and a single 512->10 classifier"),
    ModelSpec("vgg19_bn", "VGG", lambda: cifar_torchvision_vgg(tvm.vgg19_bn), CIFAR,
              "torchvision `vgg19_bn`; 1x1 average pool and a single 512->10 classifier"),
    ModelSpec("mobilenetv2", "MobileNet", cifar_mobilenet_v2, CIFAR,
              "torchvision `mobilenet_v2`; first conv stride 1; classifier Dropout(0.2) kept"),
    ModelSpec("densenet121", "DenseNet", lambda: tvm.densenet121(num_classes=NUM_CLASSES), CIFAR,
              "torchvision `densenet121`, unchanged (ImageNet stem; 1x1 maps in the last block)"),
    ModelSpec("googlenet", "Inception", lambda: tvm.googlenet(num_classes=NUM_CLASSES,
                                                             aux_logits=False, init_weights=True),
              CIFAR, "torchvision `googlenet(aux_logits=False)`, unchanged; Dropout(0.2) kept"),
    ModelSpec("squeezenet1_1", "SqueezeNet", lambda: tvm.squeezenet1_1(num_classes=NUM_CLASSES),
              CIFAR, "torchvision `squeezenet1_1`, unchanged; Dropout(0.5) kept", committed=True),
    ModelSpec("shufflenet_v2_x0_5", "ShuffleNet",
              lambda: tvm.shufflenet_v2_x0_5(num_classes=NUM_CLASSES), CIFAR,
              "torchvision `shufflenet_v2_x0_5`, unchanged (channel shuffle exports "
              "Shape/Gather/Concat/Reshape subgraphs)", committed=True),
    ModelSpec("efficientnet_b0", "EfficientNet",
              lambda: tvm.efficientnet_b0(num_classes=NUM_CLASSES, stochastic_depth_prob=0.0),
              CIFAR, "torchvision `efficientnet_b0` with stochastic depth off (its Bernoulli "
              "sampling cannot be exported); Dropout(0.2) kept"),
    ModelSpec("regnet_y_400mf", "RegNet", lambda: tvm.regnet_y_400mf(num_classes=NUM_CLASSES),
              CIFAR, "torchvision `regnet_y_400mf`, unchanged"),
    ModelSpec("vit_tiny", "ViT", vit_tiny, CIFAR,
              "torchvision `VisionTransformer(image_size=32, patch_size=4, num_layers=4, "
              "num_heads=4, hidden_dim=128, mlp_dim=256)`; opset 17 for LayerNormalization",
              opset=17, committed=True),
]
SPEC_BY_NAME = {spec.name: spec for spec in SPECS}


def build(name):
    """Construct the PyTorch module of zoo model ``name`` exactly as it is exported (train mode)."""
    spec = SPEC_BY_NAME[name]
    torch.manual_seed(SEED)
    model = spec.build()
    model.train()
    return model


def file_name(spec, opset=None):
    """``<name>.onnx``, or ``<name>_opset<N>.onnx`` when exported at a non-default opset."""
    if opset is None or opset == spec.opset:
        return spec.name + ".onnx"
    return f"{spec.name}_opset{opset}.onnx"


def export(spec, opset=None):
    """Export ``spec`` and return the checked ``onnx.ModelProto``."""
    opset = opset or spec.opset
    model = build(spec.name)
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    example = torch.randn(EXAMPLE_BATCH, *spec.input_shape,
                          generator=torch.Generator().manual_seed(SEED))
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # Training-mode export warns about opsets < 12 and about in-place ops; both are expected.
        warnings.simplefilter("ignore")
        torch.onnx.export(model, example, buffer, training=torch.onnx.TrainingMode.TRAINING,
                          do_constant_folding=False, export_params=True,
                          keep_initializers_as_inputs=False, opset_version=opset,
                          input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
    proto = onnx.load_from_string(buffer.getvalue())
    _restore_initial_state(proto, state, spec.name)
    onnx.helper.set_model_props(proto, {
        "adagp.model": spec.name,
        "adagp.seed": str(SEED),
        "adagp.generator": "models/generate.py",
        "adagp.torch": torch.__version__,
        "adagp.torchvision": torchvision.__version__,
    })
    onnx.checker.check_model(proto)
    onnx.shape_inference.infer_shapes(proto, check_type=True, strict_mode=True)
    return proto


def _restore_initial_state(proto, state, name):
    """Check initializer names against the module and put back the pre-export values."""
    for index, init in enumerate(proto.graph.initializer):
        if init.name not in state:
            raise RuntimeError(f"{name}: initializer {init.name!r} is not a PyTorch "
                               "parameter or buffer name")
        proto.graph.initializer[index].CopyFrom(
            numpy_helper.from_array(state[init.name].numpy(), init.name))
    exported = {init.name for init in proto.graph.initializer}
    missing = [k for k in state if k not in exported and not k.endswith("num_batches_tracked")]
    if missing:
        raise RuntimeError(f"{name}: parameters missing from the ONNX initializers: {missing}")


def readme_text(rows):
    """The model table of README.md from ``(spec, summary, size_bytes)`` rows."""
    header = (
        "# adagp model zoo\n\n"
        "ONNX models exported from PyTorch in training form (BatchNormalization with batch\n"
        "statistics, Dropout with its training flag) with a symbolic batch dimension `N`, input\n"
        "`input`, output `logits` (10 classes) and the PyTorch parameter names as initializer\n"
        f"names. Built with `torch.manual_seed({SEED})` and default initialisation, by\n"
        "`models/generate.py` (torch " + torch.__version__ + ", torchvision "
        + torchvision.__version__ + ").\n\n"
        "*This file is generated by `models/generate.py --readme` (or `--all`): edit the\n"
        "generator, not the table.*\n\n"
        "- Committed: in git. Generated: run the command; the file is ignored by git.\n"
        "- Params: trainable parameters (BatchNorm running statistics excluded).\n"
        "- MACs: multiply-accumulates of Conv, Gemm and MatMul for one image forward, counted by\n"
        "  `models/summarize.py` walking the ONNX graph with the shapes of a batch-1 run.\n"
        "- Inputs of 3x32x32 models are Fashion-MNIST images padded to 32x32 and replicated to\n"
        "  3 channels (`scripts/reference/fashion_mnist.py`).\n\n")
    table = ["| name | family | provenance / adaptation | input | params | MACs | opset | "
             "size | in git | regenerate |",
             "|---|---|---|---|---:|---:|---:|---:|---|---|"]
    for spec, summary, size in rows:
        table.append(
            f"| `{spec.name}` | {spec.family} | {spec.provenance} | "
            f"{'x'.join(map(str, spec.input_shape))} | {summary['params']:,} | "
            f"{summarize.human(summary['macs'])} | {summary['opset']} | {size / 1e6:.1f} MB | "
            f"{'committed' if spec.committed else 'generated'} | "
            f"`models/generate.py {spec.name}` |")
    ops_table = ["| name | ONNX ops (count) | BatchNormalization | Dropout | shape-subgraph ops |",
                 "|---|---|---|---:|---|"]
    for spec, summary, _ in rows:
        ops = ", ".join(f"{op} {n}" for op, n in sorted(summary["ops"].items()))
        ops_table.append(f"| `{spec.name}` | {ops} | {summary['batchnorm'] or '-'} | "
                         f"{summary['ops'].get('Dropout', 0)} | "
                         f"{', '.join(summary['shape_subgraph']) or '-'} |")
    footer = (
        "\n## Operators\n\n"
        "BatchNormalization is in training form: at opset 9-13 it has 5 outputs (Y, running mean,\n"
        "running var, saved mean, saved var) and no `training_mode` attribute; from opset 14 it\n"
        "has `training_mode=1` and 3 outputs. `momentum` is ONNX's (0.9 = 1 - PyTorch's 0.1).\n"
        "'Shape subgraph' means Shape/Gather/Unsqueeze/Concat (etc.) computations on tensor\n"
        "shapes feeding Reshape/Expand, which an importer can fold once the batch is bound.\n\n")
    commands = (
        "\n## Commands\n\n"
        "```sh\n"
        "models/generate.py --list              # the zoo\n"
        "models/generate.py NAME...             # write models/NAME.onnx\n"
        "models/generate.py --all               # every model, then refresh this README\n"
        "models/generate.py lenet5 --opset 11   # models/lenet5_opset11.onnx\n"
        "models/summarize.py models/*.onnx      # params, MACs and ops of any ONNX file\n"
        "```\n\n"
        "The PyTorch reference (`scripts/reference/ref.py`: inputs, forward, gradients, training,\n"
        "comparison) runs any of these files through an ONNX interpreter on PyTorch; its self-test\n"
        "`scripts/reference/test_reference.py` checks every model present here against the\n"
        "generator's PyTorch module.\n")
    return header + "\n".join(table) + "\n" + footer + "\n".join(ops_table) + "\n" + commands


def main():
    parser = argparse.ArgumentParser(
        description="Export the adagp model zoo to ONNX (training form, symbolic batch).")
    parser.add_argument("names", nargs="*", metavar="NAME", help="models to export")
    parser.add_argument("--all", action="store_true",
                        help="export every model (and refresh README.md when --out is models/)")
    parser.add_argument("--out", default=MODELS_DIR, help="output directory (default: models/)")
    parser.add_argument("--opset", type=int,
                        help="export at this opset (9..17) instead of each model's default; the "
                             "file becomes NAME_opsetN.onnx")
    parser.add_argument("--list", action="store_true", help="list the models and exit")
    parser.add_argument("--readme", action="store_true",
                        help="rewrite models/README.md (exports every model in memory)")
    args = parser.parse_args()

    if args.list:
        for spec in SPECS:
            where = "committed" if spec.committed else "generated"
            print(f"{spec.name:20s} {spec.family:15s} {'x'.join(map(str, spec.input_shape)):8s} "
                  f"opset {spec.opset:2d}  {where}")
        return 0
    unknown = [n for n in args.names if n not in SPEC_BY_NAME]
    if unknown:
        parser.error(f"unknown model(s) {unknown}; see --list")
    names = [s.name for s in SPECS] if args.all else args.names
    if not names and not args.readme:
        parser.error("name at least one model, or use --all, --list or --readme")
    if args.readme and args.opset:
        parser.error("--readme describes the default opsets; drop --opset")
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)

    refresh_readme = args.readme or (args.all and args.opset is None
                                     and os.path.abspath(args.out) == MODELS_DIR)
    to_export = [s.name for s in SPECS] if refresh_readme else names
    rows = []
    start = time.time()
    for name in to_export:
        spec = SPEC_BY_NAME[name]
        t0 = time.time()
        proto = export(spec, args.opset)
        data = proto.SerializeToString()  # deterministic for a given message
        size = len(data)
        if name in names:
            path = os.path.join(args.out, file_name(spec, args.opset))
            with open(path, "wb") as f:
                f.write(data)
            print(f"{path}: {size / 1e6:.1f} MB, opset {args.opset or spec.opset}, "
                  f"{time.time() - t0:.1f} s", flush=True)
        if spec.committed and size > COMMIT_LIMIT_BYTES:
            print(f"warning: {name} is committed but {size / 1e6:.1f} MB", file=sys.stderr)
        if refresh_readme:
            rows.append((spec, summarize.summarize(proto), size))
    if refresh_readme:
        path = os.path.join(MODELS_DIR, "README.md")
        with open(path, "w") as f:
            f.write(readme_text(rows))
        print(f"{path}: {len(rows)} models")
    print(f"done in {time.time() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
