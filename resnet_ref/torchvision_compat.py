"""Exchanging weights with torchvision's ResNet, ResNeXt and Wide ResNet models.

torchvision names the parts of a ResNet ``conv1``/``bn1`` (stem), ``layer1``..``layer4``
(stages) and ``downsample`` (projection shortcut); this package calls them ``stem``,
``stage1``..``stage4`` and ``shortcut``. Inside the blocks the names agree (``conv1``,
``bn1``, ..., ``fc``), so converting a state dict is a matter of renaming keys.
"""

import re

import torch
from torch import nn

from .models import ResNet

# (torchvision pattern, resnet_ref replacement), applied in order to every key.
_TORCHVISION_TO_REF = (
    (r"^conv1\.", "stem.conv."),
    (r"^bn1\.", "stem.bn."),
    (r"^layer(\d+)\.", r"stage\1."),
    (r"\.downsample\.0\.", ".shortcut.conv."),
    (r"\.downsample\.1\.", ".shortcut.bn."),
)
_REF_TO_TORCHVISION = (
    (r"^stem\.conv\.", "conv1."),
    (r"^stem\.bn\.", "bn1."),
    (r"^stage(\d+)\.", r"layer\1."),
    (r"\.shortcut\.conv\.", ".downsample.0."),
    (r"\.shortcut\.bn\.", ".downsample.1."),
)


def _rename(state_dict: dict, rules) -> dict:
    renamed = {}
    for key, value in state_dict.items():
        for pattern, replacement in rules:
            key = re.sub(pattern, replacement, key)
        renamed[key] = value
    return renamed


def from_torchvision_state_dict(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename a torchvision ResNet state dict's keys to this package's names."""
    return _rename(state_dict, _TORCHVISION_TO_REF)


def to_torchvision_state_dict(model: ResNet) -> dict[str, torch.Tensor]:
    """The model's state dict under torchvision's names, ready for ``load_state_dict``."""
    return _rename(model.state_dict(), _REF_TO_TORCHVISION)


def load_torchvision(model: ResNet, source: nn.Module | dict[str, torch.Tensor]) -> ResNet:
    """Copy the weights of a torchvision model (or its state dict) into ``model``.

    The architectures must match (e.g. ``resnet_ref.create("resnet50")`` and
    ``torchvision.models.resnet50()``); a mismatch raises an error that lists the missing
    and unexpected keys. Returns ``model`` so that calls can be chained.
    """
    state_dict = source.state_dict() if isinstance(source, nn.Module) else source
    model.load_state_dict(from_torchvision_state_dict(state_dict), strict=True)
    return model
