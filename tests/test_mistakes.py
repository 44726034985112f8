"""Every entry of the mistake catalogue names its own mistake.

A check that finds a wrong output asks the catalogue (``resnet_ref.grading.mistakes``) which
known mistake computes it. An entry whose function crashes, or which an earlier entry of the
same class shadows, would never be named, and nothing else would notice: the learner would
just read the generic hint. Here every entry's own output is diagnosed, on a reference with
random weights and BatchNorm statistics, in both modes, and must be named by that entry's
message. The submissions in ``tests/submissions/`` reach most entries end to end; this test
reaches all of them, including those no submission makes (a stem max-pool without padding, a
stem without its ReLU).
"""

import copy

import pytest
import torch

import resnet_ref
from resnet_ref.blocks import SqueezeExcitation
from resnet_ref.grading import MISTAKES, fresh_generator, randomise
from resnet_ref.grading.mistakes import _diagnose
from resnet_ref.models import ResNet, imagenet_resnet

# One small module of each class in the catalogue, and an input for it. The whole network has
# an ImageNet stem (convolution, BatchNorm, ReLU, max-pool): the stem mistakes need all four.
MODULES = {
    resnet_ref.BasicBlock: (lambda: resnet_ref.BasicBlock(8, 16, stride=2), (2, 8, 6, 6)),
    resnet_ref.BottleneckBlock: (
        lambda: resnet_ref.BottleneckBlock(16, 4, stride=2),
        (2, 16, 6, 6),
    ),
    resnet_ref.PreActBlock: (lambda: resnet_ref.PreActBlock(8, 16, stride=2), (2, 8, 6, 6)),
    SqueezeExcitation: (lambda: SqueezeExcitation(16, 4), (2, 16, 5, 5)),
    ResNet: (
        lambda: imagenet_resnet(resnet_ref.BasicBlock, (1, 1, 1, 1), num_classes=10),
        (2, 3, 40, 40),
    ),
}
ENTRIES = [
    pytest.param(cls, number, id=f"{cls.__name__}-{number}-{message[:40]}")
    for cls, entries in MISTAKES.items()
    for number, (message, _) in enumerate(entries)
]


def test_every_class_of_the_catalogue_has_a_module_here():
    assert set(MISTAKES) == set(MODULES)


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize(("cls", "number"), ENTRIES)
def test_each_mistake_is_named_by_its_own_message(cls, number, mode):
    build, shape = MODULES[cls]
    generator = fresh_generator()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(torch.randint(2**31, (1,), generator=generator)))
        reference = build()
    randomise(reference, generator)
    reference.train(mode == "train")
    x = torch.randn(*shape, generator=generator)
    message, mistake = MISTAKES[cls][number]
    with torch.no_grad():
        outputs = mistake(copy.deepcopy(reference), x.clone())
        expected = reference(x.clone())
    for output in outputs if isinstance(outputs, list) else [outputs]:
        assert (output - expected).abs().max() > 1e-3, "the mistake changes nothing here"
        assert _diagnose(reference, x, output) == message
