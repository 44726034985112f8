"""Measurements on networks: layer tables, gradient norms, lesions, paths, loss landscapes."""

import itertools

import pytest
import torch
import torch.nn.functional as F

import resnet_ref
from resnet_ref import PreActBlock, UnknownModelError
from resnet_ref.analysis import (
    build_on_meta,
    count_macs,
    count_parameters,
    count_paths,
    count_weighted_layers,
    filter_normalised_direction,
    format_table,
    gradient_norms,
    layer_table,
    lesion_study,
    lesioned,
    loss_landscape_1d,
    paths_by_length,
)
from resnet_ref.models import cifar_preact_resnet


def digits_model(name, seed=0, **kwargs):
    """A seeded CIFAR-family network for 1x16x16 inputs."""
    torch.manual_seed(seed)
    return resnet_ref.create(name, in_channels=1, **kwargs)


def preact20(seed=0, **kwargs):
    """A small pre-activation network (6n + 2 = 20 layers) for 1x16x16 inputs."""
    torch.manual_seed(seed)
    return cifar_preact_resnet(20, bottleneck=False, in_channels=1, **kwargs)


def random_batch(seed=1, size=8):
    """A batch of Gaussian 1x16x16 images with random labels."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(size, 1, 16, 16, generator=generator)
    y = torch.randint(0, 10, (size,), generator=generator)
    return x, y


def zero_all_residuals(model):
    """Zero every block's residual branch, so each block starts as its shortcut."""
    for _, block in model.blocks():
        block.zero_init_residual()
    return model


def snapshot(model):
    """Copies of every parameter, buffer and .grad, to check that a function changed none."""
    state = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    grads = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
    return state, grads


def assert_unchanged(model, before):
    state, grads = snapshot(model)
    assert state.keys() == before[0].keys()
    for name in state:
        assert torch.equal(state[name], before[0][name]), name
    assert grads.keys() == before[1].keys()
    for name in grads:
        assert torch.equal(grads[name], before[1][name]), name
    for module in model.modules():
        assert not module._forward_hooks and not module._forward_pre_hooks


# --- networks on the meta device ---------------------------------------------------------------


def on_meta(model):
    return {tensor.device.type for tensor in [*model.parameters(), *model.buffers()]} == {"meta"}


def test_a_network_built_on_meta_by_name_counts_as_the_real_one():
    real = resnet_ref.create("resnet20", shortcut="B")
    meta = build_on_meta("resnet20", shortcut="B")
    assert on_meta(meta)
    assert count_parameters(meta) == count_parameters(real)
    assert count_macs(meta, (1, 3, 32, 32)) == count_macs(real, (1, 3, 32, 32))
    assert [(row["name"], row["output_shape"]) for row in layer_table(meta, (1, 3, 32, 32))] == [
        (row["name"], row["output_shape"]) for row in layer_table(real, (1, 3, 32, 32))
    ]


def test_a_network_built_on_meta_by_a_factory_gets_its_arguments():
    wide = {"stage_channels": (32, 64, 128)}
    meta = build_on_meta(cifar_preact_resnet, 20, bottleneck=False, **wide)
    assert on_meta(meta)
    real = cifar_preact_resnet(20, bottleneck=False, **wide)
    assert count_parameters(meta) == count_parameters(real)
    assert count_parameters(meta) != count_parameters(cifar_preact_resnet(20, bottleneck=False))
    assert isinstance(meta.stage1[0], PreActBlock)


def test_building_on_meta_leaves_the_default_device_alone_even_after_an_error():
    with pytest.raises(UnknownModelError):
        build_on_meta("resnet21")
    build_on_meta("resnet20")
    assert torch.empty(1).device.type == "cpu"
    assert next(resnet_ref.create("resnet20").parameters()).device.type == "cpu"


@pytest.mark.parametrize(
    "name, kwargs, depth",
    [
        ("resnet18", {}, 18),
        ("resnet50", {}, 50),  # four projection shortcuts, not counted
        ("resnet20", {"shortcut": "B"}, 20),
        ("plain20", {}, 20),
        ("resnet1202", {}, 1202),
    ],
)
def test_the_weighted_layers_are_the_depth_in_the_networks_name(name, kwargs, depth):
    assert count_weighted_layers(build_on_meta(name, **kwargs)) == depth


# --- layer_table -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, input_size",
    [
        (lambda: resnet_ref.create("resnet18"), (1, 3, 224, 224)),
        (lambda: resnet_ref.create("resnet20"), (1, 3, 32, 32)),
        (lambda: preact20(), (1, 1, 16, 16)),
    ],
    ids=["resnet18", "resnet20", "preact20"],
)
def test_layer_table_adds_up_to_the_model_totals(make, input_size):
    model = make()
    rows = layer_table(model, input_size)
    assert sum(row["parameters"] for row in rows) == count_parameters(model)
    assert sum(row["macs"] for row in rows) == count_macs(model, input_size)


def test_resnet18_table_has_a_row_per_block_and_per_stem_and_head_layer():
    rows = layer_table(resnet_ref.create("resnet18"), (1, 3, 224, 224))
    block_names = [f"stage{s}.{b}" for s in range(1, 5) for b in range(2)]
    assert [row["name"] for row in rows] == [
        "stem.conv",
        "stem.bn",
        "stem.pool",
        *block_names,
        "pool",
        "fc",
    ]
    by_name = {row["name"]: row for row in rows}
    assert by_name["stem.conv"]["output_shape"] == (1, 64, 112, 112)
    assert by_name["stem.conv"]["macs"] == 64 * 112 * 112 * 3 * 7 * 7
    assert by_name["stage2.0"]["output_shape"] == (1, 128, 28, 28)
    assert by_name["stage2.0"]["type"] == "BasicBlock"
    assert by_name["fc"]["macs"] == 512 * 1000
    assert by_name["fc"]["parameters"] == 512 * 1000 + 1000


def test_layer_table_leaves_the_model_as_it_was():
    model = digits_model("resnet20").train()
    before = snapshot(model)
    layer_table(model, (2, 1, 16, 16))
    assert model.training
    assert_unchanged(model, before)


def test_format_table_is_aligned_and_ends_with_the_totals():
    model = digits_model("resnet20")
    rows = layer_table(model, (1, 1, 16, 16))
    text = format_table(rows)
    lines = text.splitlines()
    # Text columns are padded and number columns right-aligned, so every line ends together.
    assert len({len(line) for line in lines}) == 1
    assert lines[0].split() == ["layer", "type", "output", "shape", "parameters", "MACs"]
    for row, line in zip(rows, lines[2:], strict=False):
        assert line.split()[:3] == [
            row["name"],
            row["type"],
            "x".join(map(str, row["output_shape"])),
        ]
    total = lines[-1].split()
    assert total == [
        "total",
        f"{count_parameters(model):,}",
        f"{sum(row['macs'] for row in rows):,}",
    ]


# --- gradient_norms ----------------------------------------------------------------------------


def test_gradient_norms_lists_the_stem_then_every_block_and_leaves_the_model_alone():
    model = digits_model("resnet20").eval()
    x, y = random_batch()
    F.cross_entropy(model(x), y).backward()  # existing .grad that must survive
    before = snapshot(model)
    norms = gradient_norms(model, x, y)
    assert list(norms) == ["stem"] + [name for name, _ in model.blocks()]
    assert all(value > 0 and value < float("inf") for value in norms.values())
    assert not model.training
    assert_unchanged(model, before)


def test_gradient_norms_match_autograd_on_a_retained_output():
    model = digits_model("resnet20")
    x, y = random_batch()
    norms = gradient_norms(model, x, y)
    block = model.stage2[1]
    kept = {}
    block.register_forward_hook(lambda module, inputs, output: kept.update(out=output))
    model.train()
    loss = F.cross_entropy(model(x), y)
    (gradient,) = torch.autograd.grad(loss, kept["out"])
    assert norms["stage2.1"] == pytest.approx(gradient.norm().item(), rel=1e-5)


def test_identity_blocks_pass_the_gradient_back_unchanged_when_their_branch_is_zero():
    # Post-activation: y = relu(0 + x) = x for x >= 0; the gradient is masked where x = 0,
    # and every block after the last one already applies that same mask.
    model = zero_all_residuals(digits_model("resnet20"))
    norms = gradient_norms(model, *random_batch())
    names = list(norms)
    blocks = dict(model.blocks())
    checked = 0
    for previous, name in itertools.pairwise(names[:-1]):
        if isinstance(blocks[name].shortcut, torch.nn.Identity):
            assert norms[previous] == pytest.approx(norms[name], rel=1e-5), name
            checked += 1
    assert checked == 6

    # Pre-activation: y = x + 0 exactly, so nothing masks the gradient, last block included.
    model = zero_all_residuals(preact20())
    norms = gradient_norms(model, *random_batch())
    blocks = dict(model.blocks())
    checked = 0
    for previous, name in itertools.pairwise(norms):
        if isinstance(blocks[name].shortcut, torch.nn.Identity):
            assert norms[previous] == pytest.approx(norms[name], rel=1e-5), name
            checked += 1
    assert checked == 7  # nine blocks, two of which change the shape and project


def test_a_deep_plain_network_blows_up_its_gradient_far_more_than_a_resnet():
    # Measured with these seeds: first/last is about 7,000 for plain56 and about 30 for
    # resnet56 (a few hundred times apart over seeds 0..4); a factor 20 cannot flip by noise.
    x, y = random_batch()
    ratios = {}
    for name in ("plain56", "resnet56"):
        norms = list(gradient_norms(digits_model(name), x, y).values())
        ratios[name] = norms[0] / norms[-1]
    assert ratios["plain56"] > 20 * ratios["resnet56"]
    assert ratios["plain56"] > 100


# --- lesions -----------------------------------------------------------------------------------


def test_lesioning_a_zero_initialised_block_changes_nothing():
    model = zero_all_residuals(digits_model("resnet20")).eval()
    x, _ = random_batch()
    with torch.no_grad():
        expected = model(x)
        for _, block in model.blocks():
            with lesioned(block):
                assert torch.equal(model(x), expected)


def test_a_lesioned_block_outputs_what_its_shortcut_carries():
    x, _ = random_batch()
    model = digits_model("resnet20").eval()
    with torch.no_grad(), lesioned(model.stage1[0]) as block:
        stem_out = model.stem(x)
        assert not block.residual(stem_out).any()
        assert torch.equal(block(stem_out), stem_out)  # identity shortcut, non-negative input

    model = preact20().eval()
    with torch.no_grad():
        h = model.stage1(model.stem(x))
        projecting = model.stage2[0]
        with lesioned(projecting):
            pre = torch.relu(projecting.bn1(h))
            assert torch.equal(projecting(h), projecting.shortcut(pre))
        with lesioned(model.stage2[1]) as identity:
            g = projecting(h)
            assert torch.equal(identity(g), g)


def test_lesioning_restores_the_block_afterwards_even_after_an_error():
    model = digits_model("resnet20").eval()
    x, _ = random_batch()
    with torch.no_grad():
        before = model(x)
        with lesioned(model.stage3[0]):
            assert not torch.equal(model(x), before)
        assert torch.equal(model(x), before)
        with pytest.raises(RuntimeError), lesioned(model.stage3[0]):
            raise RuntimeError("something inside the with statement fails")
        assert torch.equal(model(x), before)
    assert "residual" not in vars(model.stage3[0])


def test_a_plain_block_cannot_be_lesioned():
    model = digits_model("plain20")
    with pytest.raises(ValueError, match="no shortcut"), lesioned(model.stage1[0]):
        pass


def test_lesion_study_lists_the_baseline_then_every_block():
    model = digits_model("resnet20").train()
    batches = [random_batch(seed) for seed in range(3)]
    rows = lesion_study(model, iter(batches))  # a one-shot iterator must do
    assert [row["block"] for row in rows] == [None] + [name for name, _ in model.blocks()]
    assert all(0 <= row["error"] <= 1 for row in rows)
    assert len({row["error"] for row in rows}) > 1  # lesions do change the predictions
    assert model.training

    zero_all_residuals(model)
    rows = lesion_study(model, batches)
    assert {row["error"] for row in rows} == {rows[0]["error"]}


# --- paths -------------------------------------------------------------------------------------


@pytest.mark.parametrize("n_blocks", range(7))
def test_paths_match_brute_force_enumeration(n_blocks):
    # A path is a choice per block: 1 through the residual branch, 0 along the shortcut.
    paths = list(itertools.product((0, 1), repeat=n_blocks))
    assert count_paths(n_blocks) == len(paths)
    lengths = [sum(path) for path in paths]
    assert paths_by_length(n_blocks) == [lengths.count(k) for k in range(n_blocks + 1)]
    assert sum(paths_by_length(n_blocks)) == 2**n_blocks


def test_paths_reject_a_negative_number_of_blocks():
    with pytest.raises(ValueError):
        count_paths(-1)
    with pytest.raises(ValueError):
        paths_by_length(-1)


# --- loss landscape ----------------------------------------------------------------------------


def test_direction_filters_have_the_norms_of_the_weights_filters():
    model = digits_model("resnet20")
    direction = filter_normalised_direction(model, torch.Generator().manual_seed(0))
    parameters = dict(model.named_parameters())
    assert direction.keys() == parameters.keys()
    for name, d in direction.items():
        weight = parameters[name]
        assert d.shape == weight.shape
        assert not d.requires_grad
        if weight.dim() > 1:  # convolution and linear weights
            torch.testing.assert_close(d.flatten(1).norm(dim=1), weight.flatten(1).norm(dim=1))
            assert not torch.allclose(d, weight)
        else:  # BatchNorm scales and shifts, the fc bias
            assert not d.any(), name
    again = filter_normalised_direction(model, torch.Generator().manual_seed(0))
    assert all(torch.equal(direction[name], again[name]) for name in direction)


def test_direction_of_a_zero_filter_is_zero():
    model = zero_all_residuals(preact20())  # the last conv of each branch is all zeros
    direction = filter_normalised_direction(model, torch.Generator().manual_seed(0))
    assert not direction["stage1.0.conv2.weight"].any()
    assert direction["stage1.0.conv1.weight"].any()


def test_loss_landscape_centre_is_the_models_loss_and_parameters_come_back_exactly():
    model = digits_model("resnet20").train()
    x, y = random_batch()
    before = snapshot(model)
    alphas, losses = loss_landscape_1d(model, [(x, y)], steps=5, span=0.5)
    assert alphas == [-0.5, -0.25, 0.0, 0.25, 0.5]
    assert len(losses) == 5
    assert_unchanged(model, before)
    assert model.training

    model.eval()
    with torch.no_grad():
        plain_loss = F.cross_entropy(model(x), y).item()
    assert losses[2] == pytest.approx(plain_loss, rel=1e-6)
    assert losses[0] != pytest.approx(plain_loss, rel=1e-3)
