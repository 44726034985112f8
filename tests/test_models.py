"""Whole networks: exact parameter counts, multiply-adds, registry, torchvision parity."""

import collections

import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch.utils._python_dispatch import TorchDispatchMode

import resnet_ref
from resnet_ref.analysis import count_macs, count_parameters
from resnet_ref.torchvision_compat import load_torchvision, to_torchvision_state_dict

# The counts every paper and torchvision agree on; the CIFAR ones use option A shortcuts.
PARAMETER_COUNTS = {
    "resnet18": 11_689_512,
    "resnet34": 21_797_672,
    "resnet50": 25_557_032,
    "resnet101": 44_549_160,
    "resnet152": 60_192_808,
    "resnext50_32x4d": 25_028_904,
    "wide_resnet50_2": 68_883_240,
    "resnet20": 269_722,
    "resnet32": 464_154,
    "resnet44": 658_586,
    "resnet56": 853_018,
    "resnet110": 1_727_962,
    "resnet1202": 19_421_274,
    "preact_resnet164": 1_703_258,
    "preact_resnet1001": 10_327_706,
    "wrn28_10": 36_479_194,
}


@pytest.mark.parametrize("name, expected", PARAMETER_COUNTS.items())
def test_parameter_count(name, expected):
    assert count_parameters(resnet_ref.create(name)) == expected


@pytest.mark.parametrize("depth", [20, 32, 44, 56, 110])
def test_plain_network_has_the_same_parameters_as_its_option_a_resnet(depth):
    plain = resnet_ref.create(f"plain{depth}")
    assert count_parameters(plain) == PARAMETER_COUNTS[f"resnet{depth}"]
    assert all(not block.skip for _, block in plain.blocks())


def test_shortcut_options_change_the_parameter_count_of_resnet20():
    counts = {o: count_parameters(resnet_ref.create("resnet20", shortcut=o)) for o in "ABC"}
    assert counts["A"] == 269_722
    assert counts["B"] == 272_474
    # Option C adds a 1x1 projection with BatchNorm to each of the 9 blocks.
    assert counts["C"] > counts["B"]


def test_small_resnet_of_the_concise_document_has_its_shape_flow():
    model = resnet_ref.create("small_resnet").eval()
    x = torch.randn(2, 3, 32, 32)
    shapes = [list(model.stem(x).shape)]
    h = model.stem(x)
    for stage in model.stages():
        h = stage(h)
        shapes.append(list(h.shape))
    assert shapes == [[2, 32, 32, 32], [2, 32, 32, 32], [2, 64, 16, 16], [2, 128, 8, 8]]
    assert list(model(x).shape) == [2, 10]


@pytest.mark.parametrize(
    "name, size, expected_macs",
    [
        ("resnet18", 224, 1.81e9),
        ("resnet50", 224, 4.09e9),
        ("resnet20", 32, 40.6e6),
    ],
)
def test_multiply_adds(name, size, expected_macs):
    macs = count_macs(resnet_ref.create(name), (1, 3, size, size))
    assert macs == pytest.approx(expected_macs, rel=0.01)


def test_stride_on_the_first_1x1_gives_the_papers_resnet50_compute_at_the_same_size():
    v15 = resnet_ref.create("resnet50")
    paper = resnet_ref.create("resnet50", stride_in_1x1=True)
    assert count_parameters(paper) == count_parameters(v15)
    assert count_macs(paper) == pytest.approx(3.86e9, rel=0.01)


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(resnet_ref.UnknownModelError) as error:
        resnet_ref.create("resnet21")
    message = str(error.value)
    assert "resnet21" in message
    for name in ("resnet20", "resnet50", "plain56", "wrn28_10"):
        assert name in message


def test_registry_lists_every_family():
    names = resnet_ref.list_models()
    assert names == sorted(names)
    assert {"resnet18", "resnet20", "plain20", "preact_resnet164", "small_resnet"} <= set(names)


def test_cifar_depth_must_be_6n_plus_2():
    with pytest.raises(ValueError, match="6n \\+ 2"):
        resnet_ref.models.cifar_resnet(21)


@pytest.mark.parametrize("shape", [(2, 1, 32, 32), (3, 32, 32), (2, 4, 32, 32)])
def test_wrong_input_names_expected_and_actual_shapes(shape):
    model = resnet_ref.create("resnet20")
    with pytest.raises(ValueError) as error:
        model(torch.randn(shape))
    assert "[N, 3, H, W]" in str(error.value)
    assert str(list(shape)) in str(error.value)


def test_in_channels_and_num_classes_are_configurable():
    model = resnet_ref.create("resnet20", in_channels=1, num_classes=7)
    assert list(model(torch.randn(2, 1, 16, 16)).shape) == [2, 7]


def test_zero_init_residual_zeroes_every_last_batchnorm_scale():
    model = resnet_ref.create("resnet50", zero_init_residual=True)
    for _, block in model.blocks():
        assert torch.count_nonzero(block.bn3.weight) == 0
        assert torch.all(block.bn1.weight == 1)


def _randomise_batchnorm_statistics(model):
    """Fresh BatchNorm layers all look alike; give them distinct running statistics."""
    generator = torch.Generator().manual_seed(0)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.copy_(torch.randn(module.num_features, generator=generator))
            module.running_var.copy_(torch.rand(module.num_features, generator=generator) + 0.5)
            module.weight.data.copy_(torch.randn(module.num_features, generator=generator))
            module.bias.data.copy_(torch.randn(module.num_features, generator=generator))


@pytest.mark.parametrize("name", ["resnet18", "resnet50", "resnext50_32x4d", "wide_resnet50_2"])
def test_torchvision_weights_give_identical_outputs_both_ways(name):
    torch.manual_seed(0)
    theirs = getattr(torchvision.models, name)()  # randomly initialised: no download
    with torch.no_grad():
        _randomise_batchnorm_statistics(theirs)
    ours = load_torchvision(resnet_ref.create(name), theirs)
    x = torch.randn(2, 3, 64, 64)
    for mode in ("eval", "train"):
        getattr(theirs, mode)()
        getattr(ours, mode)()
        with torch.no_grad():
            torch.testing.assert_close(ours(x), theirs(x), rtol=1e-5, atol=1e-5)

    # And back: a fresh torchvision model loaded from ours computes the same.
    back = getattr(torchvision.models, name)()
    back.load_state_dict(to_torchvision_state_dict(ours))
    back.eval()
    ours.eval()
    with torch.no_grad():
        torch.testing.assert_close(back(x), ours(x), rtol=1e-5, atol=1e-5)


class CountOperations(TorchDispatchMode):
    """Counts every ATen operation that runs while it is active, backward pass included."""

    def __init__(self):
        super().__init__()
        self.counts = collections.Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.counts[func.name()] += 1
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize("name", ["resnet18", "resnet50"])
def test_a_training_step_runs_the_same_operations_as_torchvision(name):
    # Same operations, in place where torchvision works in place, is what makes our ResNets
    # as fast and as frugal as torchvision's: an out-of-place sum or ReLU shows up here as
    # aten::add.Tensor or aten::relu instead of aten::add_.Tensor or aten::relu_.
    x, y = torch.randn(2, 3, 64, 64), torch.tensor([1, 2])
    counts = {}
    for who, model in [
        ("resnet_ref", resnet_ref.create(name)),
        ("torchvision", getattr(torchvision.models, name)()),
    ]:
        with CountOperations() as counter:
            F.cross_entropy(model(x), y).backward()
        counts[who] = counter.counts
    different = {
        op: (counts["resnet_ref"][op], counts["torchvision"][op])
        for op in counts["resnet_ref"] | counts["torchvision"]
        if counts["resnet_ref"][op] != counts["torchvision"][op]
    }
    assert not different, f"operations run (resnet_ref, torchvision): {different}"


def test_loading_mismatched_torchvision_weights_names_the_keys():
    with pytest.raises(RuntimeError, match="Unexpected key"):
        load_torchvision(resnet_ref.create("resnet18"), torchvision.models.resnet50())


@pytest.mark.parametrize("name", ["resnext101_32x8d", "wide_resnet101_2", "resnet152"])
def test_parameter_counts_equal_torchvisions(name):
    theirs = getattr(torchvision.models, name)()
    assert count_parameters(resnet_ref.create(name)) == count_parameters(theirs)
