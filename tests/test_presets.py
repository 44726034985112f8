"""The presets that scale the book's experiments to the machine."""

from pathlib import Path

import pytest

from resnet_ref.data import DATA_SOURCES
from resnet_ref.presets import PRESETS, current_preset, stored_gpu_results


def test_cpu_preset_on_a_machine_without_cuda(monkeypatch):
    monkeypatch.delenv("RESNET_COURSE_PRESET", raising=False)
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    assert current_preset().name == "cpu"
    assert current_preset().data == "embedded"


def test_gpu_preset_when_cuda_is_present(monkeypatch):
    monkeypatch.delenv("RESNET_COURSE_PRESET", raising=False)
    monkeypatch.setattr("torch.cuda.is_available", lambda: True)
    assert current_preset().name == "gpu"


def test_environment_variable_chooses_and_unknown_names_are_refused(monkeypatch):
    monkeypatch.delenv("RESNET_COURSE_DATA", raising=False)
    monkeypatch.setattr("torch.cuda.is_available", lambda: True)
    monkeypatch.setenv("RESNET_COURSE_PRESET", "cpu")
    assert current_preset() is PRESETS["cpu"]
    monkeypatch.setenv("RESNET_COURSE_PRESET", "gpu")
    assert current_preset() is PRESETS["gpu"]
    monkeypatch.setenv("RESNET_COURSE_PRESET", "tpu")
    with pytest.raises(ValueError, match="'tpu'.*cpu, gpu"):
        current_preset()


def test_the_gpu_preset_chosen_by_hand_on_a_cpu_is_refused_unless_data_is_chosen(monkeypatch):
    """A learner without a GPU who sets RESNET_COURSE_PRESET=gpu once got CIFAR-10 and 15-epoch
    runs on the CPU, hours of training with nothing said; a chosen data source (a rehearsal on
    small data, as scripts/run_chapters.py makes) is let through."""
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    monkeypatch.setattr("torch.backends.mps.is_available", lambda: False)
    monkeypatch.delenv("RESNET_COURSE_DATA", raising=False)
    monkeypatch.setenv("RESNET_COURSE_PRESET", "gpu")
    with pytest.raises(RuntimeError, match="no GPU.*hours on a CPU.*RESNET_COURSE_DATA"):
        current_preset()
    monkeypatch.setenv("RESNET_COURSE_PRESET", "cpu")
    assert current_preset() is PRESETS["cpu"]
    monkeypatch.setenv("RESNET_COURSE_PRESET", "gpu")
    monkeypatch.setenv("RESNET_COURSE_DATA", "/tmp/tiny-cifar")
    assert current_preset().name == "gpu"
    monkeypatch.delenv("RESNET_COURSE_DATA")
    monkeypatch.setattr("torch.backends.mps.is_available", lambda: True)  # Apple's GPU
    assert current_preset() is PRESETS["gpu"]


def test_a_data_source_in_the_environment_replaces_the_presets(monkeypatch):
    monkeypatch.setenv("RESNET_COURSE_PRESET", "gpu")
    monkeypatch.setenv("RESNET_COURSE_DATA", "/data/cifar10-jpeg")
    preset = current_preset()
    assert preset.data == "/data/cifar10-jpeg"
    assert preset.epochs == PRESETS["gpu"].epochs
    assert PRESETS["gpu"].data == "cifar10", "the preset itself is left as it was"


@pytest.mark.parametrize("preset", PRESETS.values(), ids=PRESETS)
def test_presets_name_real_data_sources_and_cifar_depths(preset):
    assert preset.data in DATA_SOURCES
    assert all((depth - 2) % 6 == 0 for depth in preset.depths)
    assert 0 < preset.short_epochs <= preset.epochs


def test_the_gpu_presets_subset_keeps_every_test_image_and_whole_batches():
    gpu = PRESETS["gpu"]
    cifar10_test_images = 10_000
    # load_data's limit applies to both splits: a smaller one would shrink the test split too.
    assert gpu.short_limit >= cifar10_test_images
    assert gpu.short_limit % gpu.batch_size == 0
    assert PRESETS["cpu"].short_limit is None, "the CPU preset trains on every image"


def test_the_gpu_presets_description_states_its_own_settings():
    gpu = PRESETS["gpu"]
    for setting in (
        f"{gpu.epochs} epochs",
        f"{gpu.short_epochs} per network",
        f"{gpu.short_limit:,}",
    ):
        assert setting in gpu.description


def test_the_stored_gpu_runs_are_found_from_the_book_and_from_its_notebooks(monkeypatch, tmp_path):
    book = Path(__file__).resolve().parents[1] / "book"
    run = Path("ch08_gpu") / "resnet20" / "history.json"
    for where in (book, book / "notebooks"):  # the book's build; a downloaded chapter
        monkeypatch.chdir(where)
        assert (stored_gpu_results() / run).resolve() == book / "results" / run
    monkeypatch.chdir(tmp_path)  # Colab: nothing stored, and the chapters say so
    assert not stored_gpu_results().exists()
