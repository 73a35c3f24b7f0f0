"""Importing open_clip where torchvision's compiled operators cannot load.

PyPI's Linux torchvision wheels are built against CUDA torch. Beside a CPU-only torch (the small wheel that
development machines and CPU-only CI install) their C++ extension fails to load, which torchvision tolerates
for every operator except two: ``torchvision/_meta_registrations.py`` registers fake kernels for
``torchvision::nms`` and ``torchvision::qnms`` unconditionally, and the import dies with "operator
torchvision::nms does not exist". CLIPScore needs none of torchvision's compiled operators, only its
pure-Python transforms, so when (and only when) that exact failure happens we declare the two operator
schemas, with no kernel behind them, and import again. Calling ``nms`` would then raise, as it should.
"""

from __future__ import annotations

import sys
from types import ModuleType

_SCHEMAS = {
    "torchvision::nms": "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "torchvision::qnms": "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}


def import_torchvision() -> ModuleType:
    """``import torchvision``, declaring the two operator schemas if its extension could not load."""
    try:
        import torchvision
    except RuntimeError as exc:
        if "torchvision::" not in str(exc) or "does not exist" not in str(exc):
            raise
        import torch

        for name in [k for k in sys.modules if k == "torchvision" or k.startswith("torchvision.")]:
            if name != "torchvision.extension":  # the half-done import; the extension module itself is fine
                del sys.modules[name]
        for qualname, schema in _SCHEMAS.items():
            if not torch._C._dispatch_has_kernel(qualname) and not _defined(torch, qualname):
                torch.library.define(qualname, schema)
        import torchvision
    return torchvision


def _defined(torch: ModuleType, qualname: str) -> bool:
    namespace, _, op = qualname.partition("::")
    try:
        getattr(getattr(torch.ops, namespace), op)
    except (AttributeError, RuntimeError):
        return False
    return True


def import_open_clip() -> ModuleType:
    """``import open_clip`` on any torch build (see the module docstring)."""
    import_torchvision()
    import open_clip

    return open_clip
