"""Figures the course types into its text, recomputed from the code they describe.

Most numbers in the book reach the text through glue from a cell that computes them. A few are
typed: in an assignment's instructions or mark scheme (counts, shares, points, how long its
checks take), in a chapter's code as the value a check expects or a figure quoted from
torchvision, in benchmarks/README.md. Each test here reads the figure from where the course
states it and fails when the code no longer agrees, so a change to the package cannot leave the
text saying something false. None of them needs the book built; the two marked slow train or
time networks (about a minute and 20 s on the shared two-core machine).
"""

import math
import re

import pytest
from conftest import ROOT
from grading_support import SOLUTIONS, read_cells
from torch import nn

import resnet_ref
from resnet_ref.analysis import build_on_meta, count_parameters, paths_by_length
from resnet_ref.data import load_data


def text_of(relative_path):
    return (ROOT / relative_path).read_text(encoding="utf-8")


def number(text):
    """'11,689,512' or '853_018' as an int."""
    return int(text.replace(",", "").replace("_", ""))


def test_chapter_11_expects_resnet56_to_have_the_count_it_has():
    """Chapter 11's parameter check compares ResNet-56 with a count typed into the cell, and the
    text says that count matches the paper's rounded 0.85 million."""
    source = text_of("book/ch11_practice.md")
    typed = re.search(
        r'"resnet56": \(resnet_ref\.create\("resnet56"\), [^)]*\), ([\d_]+)\)', source
    )
    assert typed, "chapter 11 no longer types ResNet-56's expected count where this test looks"
    computed = count_parameters(build_on_meta("resnet56"))
    assert number(typed.group(1)) == computed, (
        f"chapter 11 expects {typed.group(1)} parameters, resnet56 has {computed:,}"
    )
    assert round(computed / 1e6, 2) == 0.85


def test_assignment_3_states_the_parameter_counts_of_the_reference():
    """The table of Part 2 and the CIFAR counts of Part 3, against resnet_ref."""
    text = text_of("solutions/a3_resnets/resnets.pct.py")
    table = re.findall(r"^# \| ResNet-(\d+) \| \w+ \| [\d, ]+ \| ([\d,]+) \|$", text, re.M)
    assert [depth for depth, _ in table] == ["18", "34", "50", "101", "152"]
    for depth, stated in table:
        computed = count_parameters(build_on_meta(f"resnet{depth}"))
        assert number(stated) == computed, f"ResNet-{depth}: {stated} stated, {computed:,} built"

    option_b = count_parameters(build_on_meta("resnet20", shortcut="B"))
    option_a = count_parameters(build_on_meta("resnet20"))
    plain = count_parameters(build_on_meta("plain20"))
    cifar = re.search(
        r"ResNet-20 has ([\d,]+)\n# parameters, ([\d,]+) more than with option A \(([\d,]+), "
        r"the paper's \"0\.(\d+)M\"\).*?plain-20 has ([\d,]+) parameters",
        text,
        re.S,
    )
    assert cifar, "assignment 3 no longer states the CIFAR counts where this test looks"
    assert number(cifar.group(1)) == option_b
    assert number(cifar.group(2)) == option_b - option_a
    assert number(cifar.group(3)) == option_a
    assert round(option_a / 1e6, 2) == float("0." + cifar.group(4))
    assert number(cifar.group(5)) == plain


def test_assignment_1_examples_of_the_output_size():
    """Part 1 says a 3x3 convolution with padding 1 and stride 2 takes 56 to 28 and 7 to 4."""
    text = text_of("solutions/a1_shortcuts/shortcuts.pct.py")
    examples = re.search(r"so (\d+) → (\d+) and (\d+) → (\d+)\.", text)
    assert examples, "assignment 1 no longer gives its examples where this test looks"
    conv = nn.Conv2d(1, 1, 3, stride=2, padding=1, device="meta")
    for size_in, size_out in (examples.group(1, 2), examples.group(3, 4)):
        height = conv(nn.Parameter(conv.weight.new_empty(1, 1, int(size_in), int(size_in)))).shape
        assert height[-1] == int(size_out), f"{size_in} → {height[-1]}, stated {size_out}"


def test_assignment_5_gives_the_widths_of_the_first_bottlenecks():
    """Part 3: ResNeXt-50 (32x4d) works at 128 channels in its first stage, ResNet-50 at 64."""
    text = text_of("solutions/a5_variants/variants.pct.py")
    stated = re.search(
        r"so ResNeXt-50 \(32×4d: [^)]*\) works at (\d+) channels where ResNet-50\n# works at (\d+)",
        text,
    )
    assert stated, "assignment 5 no longer states the widths where this test looks"
    for name, width in zip(("resnext50_32x4d", "resnet50"), stated.groups(), strict=True):
        inner = build_on_meta(name).stage1[0].conv2
        assert (inner.in_channels, inner.out_channels) == (int(width), int(width)), name


def test_assignment_6_mark_scheme_gives_the_path_lengths_of_resnet110():
    """The mark scheme of the path question: 54 blocks, mean length, spread, and the share of
    paths in two ranges of lengths."""
    text = text_of("solutions/a6_theory/theory.pct.py")
    stated = re.search(
        r"for\n#   \$n = (\d+)\$, mean (\d+), about ([\d.]+), so ([\d.]+) % of paths have "
        r"(\d+)–(\d+) branches\n#   \(and ([\d.]+) % have (\d+)–(\d+)",
        text,
    )
    assert stated, "the mark scheme no longer states the path lengths where this test looks"
    n = int(stated.group(1))
    assert n == len(resnet_ref.create("resnet110").blocks())
    counts = paths_by_length(n)
    total = sum(counts)
    mean = sum(k * c for k, c in enumerate(counts)) / total
    std = math.sqrt(sum((k - mean) ** 2 * c for k, c in enumerate(counts)) / total)
    assert int(stated.group(2)) == mean
    assert float(stated.group(3)) == round(std, 1)
    for share, low, high in (stated.group(4, 5, 6), stated.group(7, 8, 9)):
        computed = sum(counts[int(low) : int(high) + 1]) / total
        assert float(share) == round(100 * computed, 1), f"{low}–{high}: {computed:.2%}"


def test_benchmarks_readme_states_the_training_loop_data_and_resnet20():
    """The figures of benchmarks/README.md that describe code rather than a timing."""
    text = text_of("benchmarks/README.md")
    digits = load_data("embedded")
    stated = re.search(
        r"embedded digits \(([\d,]+) training images, 1x(\d+)x(\d+)\).*?batch (\d+), (\d+) steps"
        r".*?evaluation of the (\d+) test images",
        text,
        re.S,
    )
    assert stated, "benchmarks/README.md no longer describes the training row where expected"
    train_images, height, width, batch, steps, test_images = (number(g) for g in stated.groups())
    assert train_images == len(digits.train_labels)
    assert test_images == len(digits.test_labels)
    assert (height, width) == tuple(digits.train_images.shape[-2:])
    assert steps == math.ceil(train_images / batch)

    resnet20 = re.search(r"both ResNet-20s have ([\d,]+) parameters", text)
    assert number(resnet20.group(1)) == count_parameters(build_on_meta("resnet20"))
    bench = text_of("benchmarks/bench_throughput.py")
    assert re.search(r"RESNET20_PARAMETERS = ([\d_]+)", bench).group(1) == "269_722"

    images = re.search(r"`--images` training images \(([\d,]+) by default\)", text)
    gpu_bench = text_of("benchmarks/bench_gpu_training.py")
    default = re.search(r'"--images", type=int, default=([\d_]+)', gpu_bench)
    assert number(images.group(1)) == number(default.group(1))


def test_benchmarks_readme_states_the_settings_of_the_memory_row():
    """The allocator setting, the memory resolution and the targets the README gives are the
    script's."""
    text = text_of("benchmarks/README.md")
    bench = text_of("benchmarks/bench_throughput.py")
    threshold = re.search(
        r"`MALLOC_MMAP_THRESHOLD_=(\d+)`.*?every tensor over (\d+) KiB", text, re.S
    )
    assert threshold, "benchmarks/README.md no longer gives the allocator setting where expected"
    in_script = re.search(r'"MALLOC_MMAP_THRESHOLD_": str\((\d+) \* 1024\)', bench).group(1)
    assert int(threshold.group(1)) == int(in_script) * 1024
    assert int(threshold.group(2)) == int(in_script)
    resolution = re.search(r"MEMORY_RESOLUTION_MIB = ([\d.]+)", bench).group(1)
    assert re.search(rf"hence the {float(resolution):g} MiB\s+resolution", text)
    targets = re.findall(r"^\| `[\w -]+` \|.*\| (?:throughput ratio )?>= ([\d.]+)", text, re.M)
    assert sorted(set(map(float, targets))) == sorted(
        set(map(float, re.findall(r"target=([\d.]+),", bench)))
    )


@pytest.mark.parametrize("name", ["resnet18", "resnet50", "resnet20"])
def test_benchmarks_readme_counts_the_operations_of_a_training_step(name):
    """The README counts the ATen operations of one forward and backward pass: 290, 731, 301."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode

    text = text_of("benchmarks/README.md")
    counts = re.search(
        r"operations for ours and the reference in all three models \((\d+) for ResNet-18,\n"
        r"(\d+) for ResNet-50, (\d+) for ResNet-20\)",
        text,
    )
    assert counts, "benchmarks/README.md no longer states the operation counts where expected"
    stated = dict(zip(["resnet18", "resnet50", "resnet20"], map(int, counts.groups()), strict=True))

    class Count(TorchDispatchMode):
        calls = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            Count.calls += 1
            return func(*args, **(kwargs or {}))

    torch.manual_seed(0)
    model = resnet_ref.create(name)
    size = 32 if name == "resnet20" else 64
    x, y = torch.randn(2, 3, size, size), torch.tensor([1, 2])
    with Count():
        nn.functional.cross_entropy(model(x), y).backward()
    assert Count.calls == stated[name], f"{name}: {Count.calls} operations, stated {stated[name]}"


def torchvision_top1(name):
    """The top-1 accuracy torchvision's metadata gives for its V1 ImageNet weights, in percent."""
    import torchvision

    weights = torchvision.models.get_model_weights(name).IMAGENET1K_V1
    return weights.meta["_metrics"]["ImageNet-1K"]["acc@1"]


def test_chapter_10_quotes_torchvision_accuracies_as_torchvision_gives_them():
    """Chapter 10 types four top-1 accuracies as torchvision's; its weights' metadata has them."""
    source = text_of("book/ch10_variants.md")
    names = {"rx50": "resnext50_32x4d", "r101": "resnet101", "wr50": "wide_resnet50_2"}
    names["r152"] = "resnet152"
    typed = dict(re.findall(r'glue\("ch10_tv_acc_(\w+)", ([\d.]+),', source))
    assert sorted(typed) == sorted(names), typed
    for key, name in names.items():
        assert float(typed[key]) == pytest.approx(torchvision_top1(name) / 100), name


def test_chapter_7_tutorial_accuracies_are_torchvisions_rounded():
    """Chapter 7 says the tutorial's top-1 column is what torchvision reports for its V1 weights."""
    source = text_of("book/ch07_architectures.md")
    typed = dict(
        re.findall(
            r'"(resnet\d+)": \{"params_m": [\d.]+, "gflops": [\d.]+, "top1": ([\d.]+)', source
        )
    )
    assert sorted(typed) == ["resnet101", "resnet152", "resnet18", "resnet34", "resnet50"]
    for name, top1 in typed.items():
        assert float(top1) == round(torchvision_top1(name), 1), name


@pytest.mark.slow
def test_assignment_4_default_recipe_leaves_56_layers_near_chance():
    """Part 2 prescribes a gentler recipe because, it says, the ``TrainConfig`` defaults (rate 0.1
    from the first step, batches of 128) leave a 56-layer network near chance in a run this
    short, with shortcuts or without. Seed 0 on one thread: plain-56 ends at 89 % training error,
    residual-56 at 82 %, chance being 90 % (the prescribed recipe takes residual-56 below 10 %).
    About a minute."""
    import torch

    from resnet_ref.training import TrainConfig, train

    text = " ".join(text_of("solutions/a4_gradient_flow/gradient_flow.pct.py").split())
    assert "runs this short leave a 56-layer network near chance whether # it has shortcuts" in (
        text
    ), "assignment 4 no longer makes the claim this test checks"
    epochs = int(re.search(r"compare_depths\(\[8, 20, 56\], (\d+),", text).group(1))
    data = load_data("embedded", image_size=8)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the assignment's setup cell does
    try:
        for skip in (False, True):
            torch.manual_seed(0)
            model = resnet_ref.models.cifar_resnet(56, skip=skip, in_channels=1)
            config = TrainConfig(epochs=epochs, progress=False, device="cpu")
            error = train(model, data, config)[-1]["train_error"]
            chance = 1 - 1 / data.num_classes
            assert error > chance - 0.2, f"56 layers, skip={skip}: {error:.1%} training error"
    finally:
        torch.set_num_threads(threads)


def test_chapter_11_quotes_torchvision_accuracies_as_torchvision_gives_them():
    """Chapter 11's table of candidates types the top-1 accuracy of nine torchvision networks."""
    source = text_of("book/ch11_practice.md")
    block = re.search(r"reported_top1 = \{(.*?)\}", source, re.S)
    assert block, "chapter 11 no longer types its reported accuracies where this test looks"
    typed = dict(re.findall(r'"(\w+)": ([\d.]+)', block.group(1)))
    assert len(typed) == 9, typed
    for name, top1 in typed.items():
        assert float(top1) == pytest.approx(torchvision_top1(name)), name


MARK_SCHEME_TOTAL = re.compile(r"Mark scheme \((\d+) points?( each)?\)|Full marks \((\d+)\)")
MARK_SCHEME_ITEM = re.compile(r"^- \*\*(\d+) (?:pt|pts|point|points)\b", re.M)


@pytest.mark.parametrize("notebook", sorted(SOLUTIONS.glob("a*/*.ipynb")), ids=lambda p: p.stem)
def test_mark_schemes_give_the_points_their_answers_are_worth(notebook):
    """A mark scheme names the points of the written answer(s) after it, and its items add up to
    them; both must agree with the points nbgrader gives those answer cells."""
    cells = read_cells(notebook)
    for index, cell in enumerate(cells):
        if "BEGIN MARK SCHEME" not in cell.source:
            continue
        total = MARK_SCHEME_TOTAL.search(cell.source)
        assert total, f"{cell.grade_id}: a mark scheme that states no total"
        points = int(total.group(1) or total.group(3))
        answers = []
        for later in cells[index + 1 :]:
            if later.cell_type != "markdown" or not later.solution:
                break
            answers.append(later)
        assert answers, f"{cell.grade_id}: no written answer after its mark scheme"
        if not total.group(2):  # "N points each" is per answer, otherwise there is one answer
            assert len(answers) == 1, [a.grade_id for a in answers]
        for answer in answers:
            assert answer.points == points, (
                f"{answer.grade_id}: worth {answer.points:g}, its mark scheme says {points}"
            )
        items = [int(item) for item in MARK_SCHEME_ITEM.findall(cell.source)]
        if items:
            assert sum(items) == points, f"{cell.grade_id}: items {items} against {points}"


@pytest.mark.parametrize("notebook", sorted(SOLUTIONS.glob("a*/*.ipynb")), ids=lambda p: p.stem)
def test_part_headings_give_the_points_of_their_part(notebook):
    """A heading such as '## Part 4: counting paths (6 points)' is worth what the part's graded
    cells, tests and written answers, give together."""
    stated, earned, part = {}, {}, None
    for cell in read_cells(notebook):
        heading = re.search(r"^## Part (\d+)\b.*?(?:(\d+) points?\))?$", cell.source, re.M)
        if cell.cell_type == "markdown" and heading:
            part = heading.group(1)
            if heading.group(2):
                stated[part] = int(heading.group(2))
        if part and (cell.graded or cell.manual):
            earned[part] = earned.get(part, 0) + cell.points
    for part, points in stated.items():
        assert earned.get(part) == points, (
            f"Part {part}: the heading says {points} points, its cells give {earned.get(part, 0):g}"
        )


def test_assignment_4_mark_scheme_describes_the_norms_learners_see():
    """The mark scheme says what the norms cell shows a learner: going backwards the norms grow,
    the stem's norm thousands of times the last block's for Plain-56 (about 6,700 with seed 0)
    and tens of times for ResNet-56 (about 42). The notebook's own cells run here, as a learner
    runs them."""
    import torch

    notebook = SOLUTIONS / "a4_gradient_flow" / "gradient_flow.ipynb"
    scheme = " ".join(
        next(c for c in read_cells(notebook) if "Mark scheme" in c.source).source.split()
    )
    claim = re.search(
        r"the stem's norm is (\w+) of times the last block's for Plain-56, (\w+) of times for "
        r"ResNet-56",
        scheme,
    )
    assert claim, "assignment 4's mark scheme no longer makes the claim this test checks"
    cells = {cell.grade_id: cell.source for cell in read_cells(notebook)}
    namespace: dict = {"__name__": "__main__"}
    threads = torch.get_num_threads()
    try:
        for name in ("setup", "block_gradient_norms", "explore_norms"):
            exec(compile(cells[name], f"<cell {name}>", "exec"), namespace)
    finally:
        torch.set_num_threads(threads)
    assert namespace["depth"] == 56, "NBGRADER_EXECUTION is set: the cell ran its token version"
    plain, residual, last = namespace["plain"], namespace["residual"], namespace["last"]
    scale = {"tens": (10, 100), "hundreds": (100, 1000), "thousands": (1000, 10_000)}
    for who, norms, words in (
        ("Plain", plain, claim.group(1)),
        ("ResNet", residual, claim.group(2)),
    ):
        growth = norms["stem"] / norms[last]
        low, high = scale[words]
        assert low <= growth < high, f"{who}-56: stem / last block {growth:,.1f}, stated {words}"


# How long an assignment's introduction says its visible checks take, in seconds of CPU time
# (CPU time, not wall time: the machine the tests run on is shared, a learner's is not).
CHECK_TIMES = {"in a second,": 1.0, "in a second or two,": 2.0, "in a few seconds": 5.0}


def visible_check_times(assignment):
    """CPU seconds of each test cell's visible checks, run as a learner runs them after a
    correct solution: the solution notebook's cells in order, each test cell as released, and
    without the cells that explore (learners run those for themselves; the grader shortens
    them). Called in a fresh process, as a fresh kernel would run the notebook."""
    import time

    solution = next((SOLUTIONS / assignment).glob("*.ipynb"))
    released = ROOT / "exercises" / assignment / solution.name
    visible = {cell.grade_id: cell.source for cell in read_cells(released)}
    namespace: dict = {"__name__": "__main__"}
    times = {}
    for cell in read_cells(solution):
        if cell.cell_type != "code" or (cell.grade_id or "").startswith("explore"):
            continue
        started = time.process_time()
        source = visible[cell.grade_id] if cell.graded else cell.source
        exec(compile(source, f"<cell {cell.grade_id}>", "exec"), namespace)
        if cell.graded:
            times[cell.grade_id] = time.process_time() - started
    return times


@pytest.mark.slow
@pytest.mark.parametrize(
    "assignment", ["a1_shortcuts", "a2_blocks", "a4_gradient_flow", "a5_variants"]
)
def test_visible_checks_take_the_time_the_assignment_promises(assignment):
    """Each test cell's visible checks finish within the time the introduction names."""
    import json
    import subprocess
    import sys

    introduction = " ".join(
        read_cells(next((SOLUTIONS / assignment).glob("*.ipynb")))[0].source.split()
    )
    promise = next((words for words in CHECK_TIMES if f"finish {words}" in introduction), None)
    assert promise, f"{assignment}: the introduction names no time this test knows"
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, sys, test_stated_figures as t; "
            "print(json.dumps(t.visible_check_times(sys.argv[1])))",
            assignment,
        ],
        cwd=ROOT / "tests",
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    times = json.loads(run.stdout.strip().splitlines()[-1])
    slow = {
        name: round(seconds, 2) for name, seconds in times.items() if seconds > CHECK_TIMES[promise]
    }
    assert times and not slow, (
        f"{assignment} says its checks finish {promise.rstrip(',')} "
        f"({CHECK_TIMES[promise]:g} CPU s); slower: {slow}"
    )
