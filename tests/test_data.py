"""Tests for resnet_ref.data: the digits, CIFAR-10's file format, image folders, augmentation.

Everything runs offline on the CPU: CIFAR-10 and image folders are generated in tmp_path.
"""

import hashlib
import math
import pickle
import urllib.error

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision
from PIL import Image
from torchvision.transforms.v2.functional import resize

from resnet_ref.data import DATA_SOURCES, DataNotFoundError, ImageData, load_data


def make_data(images: torch.Tensor, labels: torch.Tensor, padding: int, flip: bool) -> ImageData:
    """An ImageData around given tensors, used as both splits, with made-up statistics."""
    channels = images.shape[1]
    return ImageData(
        name="synthetic",
        train_images=images,
        train_labels=labels,
        test_images=images,
        test_labels=labels,
        classes=[str(label) for label in range(int(labels.max()) + 1)],
        mean=tuple(0.2 + 0.1 * c for c in range(channels)),
        std=tuple(0.3 + 0.05 * c for c in range(channels)),
        padding=padding,
        flip=flip,
        source="made up for a test",
    )


def random_images(n: int, channels: int = 3, size: int = 8, seed: int = 0) -> torch.Tensor:
    """Random uint8 images: no two crops or mirror images of them coincide by chance."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, channels, size, size), generator=generator, dtype=torch.uint8)


# The embedded digits


def test_data_sources_names():
    assert DATA_SOURCES == ("embedded", "cifar10")


def test_embedded_digits_shapes_split_and_metadata():
    data = load_data()
    assert data.name == "embedded"
    assert data.train_images.shape == (1437, 1, 16, 16)
    assert data.test_images.shape == (360, 1, 16, 16)
    assert data.train_images.dtype == data.test_images.dtype == torch.uint8
    assert data.train_labels.dtype == data.test_labels.dtype == torch.int64
    assert data.train_labels.shape == (1437,) and data.test_labels.shape == (360,)
    assert data.classes == [str(digit) for digit in range(10)]
    assert (data.num_classes, data.channels, data.image_size) == (10, 1, 16)
    assert (data.padding, data.flip) == (2, False)
    assert "1,437 train / 360 test" in data.source and "CC BY 4.0" in data.source
    # The originals' 0..16 intensities are rescaled to the full 0..255 range.
    assert data.train_images.min() == 0 and data.train_images.max() == 255
    # A split by class: 36 test images of each digit, give or take one.
    test_counts = torch.bincount(data.test_labels, minlength=10)
    assert test_counts.min() >= 35 and test_counts.max() <= 37


def test_embedded_digits_are_the_scikit_learn_digits():
    from sklearn.datasets import load_digits

    originals = torch.from_numpy(load_digits().images).flatten(1)
    # At 8x8 nothing is resized: every image is one of the originals, rescaled to 0..255.
    pixels = load_data(image_size=8).train_images.flatten(1).double()
    assert torch.cdist(pixels, (originals * 255 / 16).round()).min(dim=1).values.max() == 0
    # At 16x16 each image is an original enlarged bilinearly: torchvision's resize, an
    # independent implementation, gives the same pixels to within rounding.
    enlarged = resize(originals.reshape(-1, 1, 8, 8).float() * 255 / 16, [16, 16]).flatten(1)
    pixels = load_data().train_images.flatten(1).float()
    nearest = torch.cdist(pixels, enlarged).argmin(dim=1)
    assert (pixels - enlarged[nearest]).abs().max() <= 1


def test_embedded_mean_and_std_come_from_the_training_images():
    data = load_data()
    pixels = data.train_images.double() / 255
    assert data.mean == pytest.approx((pixels.mean().item(),), rel=1e-5)
    assert data.std == pytest.approx((pixels.std(correction=0).item(),), rel=1e-5)
    # Digits are mostly dark background with bright strokes.
    assert 0.1 < data.mean[0] < 0.5 and 0.2 < data.std[0] < 0.5


def test_embedded_is_deterministic_and_limit_picks_a_fixed_subset():
    first, second = load_data(), load_data()
    assert torch.equal(first.train_images, second.train_images)
    assert torch.equal(first.test_labels, second.test_labels)
    small = load_data(limit=100)
    assert len(small.train_labels) == len(small.test_labels) == 100
    assert torch.equal(small.train_images, load_data(limit=100).train_images)
    assert "100 train / 100 test" in small.source


def test_embedded_image_size_resizes():
    data = load_data(image_size=32)
    assert data.train_images.shape[1:] == (1, 32, 32)
    assert data.padding == 4


# The batch loader


def index_coded_data(n: int) -> ImageData:
    """Images whose first two pixels spell their index, labelled index mod 7."""
    images = torch.zeros(n, 1, 4, 4, dtype=torch.uint8)
    images[:, 0, 0, 0] = torch.arange(n) % 256
    images[:, 0, 0, 1] = torch.arange(n) // 256
    return make_data(images, torch.arange(n) % 7, padding=0, flip=False)


def batch_indices(batch: torch.Tensor) -> torch.Tensor:
    """Read back the index written into each image by index_coded_data."""
    return batch[:, 0, 0, 0].long() + 256 * batch[:, 0, 0, 1].long()


def test_loader_covers_the_split_once_per_epoch_with_matching_labels():
    data = index_coded_data(1000)
    loader = data.loader("train", batch_size=64)
    assert len(loader) == math.ceil(1000 / 64)
    epochs = []
    for _ in range(2):
        batches = list(loader)
        assert len(batches) == len(loader)
        assert [len(labels) for _, labels in batches] == [64] * 15 + [40]
        indices = torch.cat([batch_indices(images) for images, _ in batches])
        labels = torch.cat([labels for _, labels in batches])
        assert torch.equal(indices.sort().values, torch.arange(1000))
        assert torch.equal(labels, indices % 7)
        epochs.append(indices)
    assert not torch.equal(epochs[0], torch.arange(1000)), "the training split is shuffled"
    assert not torch.equal(epochs[0], epochs[1]), "each epoch has its own order"


def test_loader_order_depends_on_the_seed_only():
    data = index_coded_data(300)

    def order(seed: int) -> torch.Tensor:
        return torch.cat([batch_indices(x) for x, _ in data.loader("train", 32, seed=seed)])

    assert torch.equal(order(0), order(0))
    assert not torch.equal(order(0), order(1))


def test_loader_keeps_the_test_split_in_order_and_moves_to_the_device():
    data = index_coded_data(100)
    batches = list(data.loader("test", batch_size=30, device="cpu"))
    assert torch.equal(torch.cat([batch_indices(x) for x, _ in batches]), torch.arange(100))
    shuffled = torch.cat([batch_indices(x) for x, _ in data.loader("test", 30, shuffle=True)])
    assert not torch.equal(shuffled, torch.arange(100))
    with pytest.raises(ValueError, match="'train' or 'test'"):
        data.loader("validation", batch_size=30)


# Augmentation and normalisation


def test_prepare_without_training_only_normalises():
    images = random_images(16)
    data = make_data(images, torch.zeros(16, dtype=torch.long), padding=2, flip=True)
    prepared = data.prepare(images, train=False)
    assert prepared.shape == images.shape and prepared.dtype == torch.float32
    mean = torch.tensor(data.mean).view(-1, 1, 1)
    std = torch.tensor(data.std).view(-1, 1, 1)
    assert torch.allclose(prepared, (images / 255 - mean) / std, atol=1e-6)


def test_a_bright_pixel_moves_by_at_most_the_padding():
    padding, size = 3, 12
    images = torch.zeros(500, 1, size, size, dtype=torch.uint8)
    images[:, 0, 6, 5] = 255
    data = make_data(images, torch.zeros(500, dtype=torch.long), padding=padding, flip=False)
    prepared = data.prepare(images, train=True, generator=torch.Generator().manual_seed(0))
    assert prepared.shape == images.shape and prepared.dtype == torch.float32
    brightest = prepared.flatten(1).argmax(dim=1)
    rows, cols = brightest // size - 6, brightest % size - 5
    assert rows.abs().max() <= padding and cols.abs().max() <= padding
    # Every shift happens: all 2 * padding + 1 of them in each direction.
    assert set(rows.tolist()) == set(cols.tolist()) == set(range(-padding, padding + 1))


def test_random_crops_are_shifts_of_the_zero_padded_image():
    padding = 2
    images = random_images(40)
    data = make_data(images, torch.zeros(40, dtype=torch.long), padding=padding, flip=False)
    prepared = data.prepare(images, train=True, generator=torch.Generator().manual_seed(1))
    std = torch.tensor(data.std).view(-1, 1, 1)
    mean = torch.tensor(data.mean).view(-1, 1, 1)
    crops = prepared * std + mean  # back to the 0..1 scale
    padded = F.pad(images / 255, (padding,) * 4)
    offsets = [(top, left) for top in range(2 * padding + 1) for left in range(2 * padding + 1)]
    for crop, image in zip(crops, padded, strict=True):
        matches = [
            (top, left)
            for top, left in offsets
            if torch.allclose(crop, image[:, top : top + 8, left : left + 8], atol=1e-5)
        ]
        assert len(matches) == 1


def test_flips_happen_only_when_the_data_allows_them():
    images = random_images(200)
    labels = torch.zeros(200, dtype=torch.long)
    no_flip = make_data(images, labels, padding=0, flip=False)
    plain = no_flip.prepare(images, train=False)
    unflipped = no_flip.prepare(images, train=True, generator=torch.Generator().manual_seed(0))
    assert torch.equal(unflipped, plain)

    with_flip = make_data(images, labels, padding=0, flip=True)
    flipped = with_flip.prepare(images, train=True, generator=torch.Generator().manual_seed(0))
    same = (flipped == plain).flatten(1).all(dim=1)
    mirrored = (flipped == plain.flip(-1)).flatten(1).all(dim=1)
    assert torch.all(same ^ mirrored), "each image is either kept or mirrored"
    assert 60 < mirrored.sum() < 140, "about half are mirrored"


def test_augmentation_is_determined_by_the_generator():
    images = random_images(64)
    data = make_data(images, torch.zeros(64, dtype=torch.long), padding=2, flip=True)

    def prepare(seed: int) -> torch.Tensor:
        return data.prepare(images, train=True, generator=torch.Generator().manual_seed(seed))

    assert torch.equal(prepare(5), prepare(5))
    assert not torch.equal(prepare(5), prepare(6))
    torch.manual_seed(3)
    first = data.prepare(images, train=True)
    torch.manual_seed(3)
    assert torch.equal(first, data.prepare(images, train=True)), "None uses torch's global RNG"


# CIFAR-10 in its own file format


def write_cifar10(root, train_sizes=(4, 3, 5, 2, 6), test_size=7):
    """Write a tiny CIFAR-10 in the real data set's layout; return its pixels, labels and files."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir()
    generator = np.random.default_rng(0)
    label_names = [f"class{k}" for k in range(10)]
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    contents = {}
    for name, size in zip(names, [*train_sizes, test_size], strict=True):
        # The real files come from Python 2: a dict of str keys, the pixels as (N, 3072) uint8,
        # channel by channel (1,024 red values, then green, then blue), row by row.
        batch = {
            "batch_label": name,
            "data": generator.integers(0, 256, (size, 3072), dtype=np.uint8),
            "labels": generator.integers(0, 10, size).tolist(),
        }
        (folder / name).write_bytes(pickle.dumps(batch))
        contents[name] = batch
    meta = {"label_names": label_names, "num_cases_per_batch": 10000, "num_vis": 3072}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta))
    md5 = {path.name: hashlib.md5(path.read_bytes()).hexdigest() for path in folder.iterdir()}
    return contents, label_names, md5


def test_cifar10_is_read_from_its_own_file_format(tmp_path, monkeypatch):
    contents, label_names, md5 = write_cifar10(tmp_path)
    # torchvision checks every file against the md5 sum of the real data set's file, so a
    # generated stand-in passes only if the expected sums are those of the generated files.
    cifar10 = torchvision.datasets.CIFAR10
    monkeypatch.setattr(
        cifar10, "train_list", [[f"data_batch_{i}", md5[f"data_batch_{i}"]] for i in range(1, 6)]
    )
    monkeypatch.setattr(cifar10, "test_list", [["test_batch", md5["test_batch"]]])
    monkeypatch.setattr(cifar10, "meta", {**cifar10.meta, "md5": md5["batches.meta"]})

    data = load_data("cifar10", root=tmp_path, download=False)

    train_names = [f"data_batch_{i}" for i in range(1, 6)]
    train_pixels = np.concatenate([contents[name]["data"] for name in train_names])
    train_labels = sum((contents[name]["labels"] for name in train_names), [])
    expected_train = torch.from_numpy(train_pixels).reshape(-1, 3, 32, 32)
    expected_test = torch.from_numpy(contents["test_batch"]["data"]).reshape(-1, 3, 32, 32)
    assert torch.equal(data.train_images, expected_train)
    assert torch.equal(data.train_labels, torch.tensor(train_labels))
    assert torch.equal(data.test_images, expected_test)
    assert torch.equal(data.test_labels, torch.tensor(contents["test_batch"]["labels"]))
    assert data.train_images.dtype == torch.uint8 and data.train_labels.dtype == torch.int64
    assert data.classes == label_names
    assert (data.channels, data.image_size, data.padding, data.flip) == (3, 32, 4, True)
    pixels = expected_train.double() / 255
    assert data.mean == pytest.approx(pixels.mean(dim=(0, 2, 3)).tolist(), rel=1e-5)
    assert "20 train / 7 test" in data.source

    small = load_data("cifar10", root=tmp_path, download=False, limit=5, image_size=16)
    assert small.train_images.shape == (5, 3, 16, 16) and len(small.test_labels) == 5


def test_missing_cifar10_without_download_says_how_to_get_it(tmp_path):
    with pytest.raises(DataNotFoundError) as raised:
        load_data("cifar10", root=tmp_path / "nowhere", download=False)
    message = str(raised.value)
    assert isinstance(raised.value, FileNotFoundError)
    assert "download=False" in message
    assert str(tmp_path / "nowhere") in message
    assert "resnet_ref.load_data('cifar10'" in message
    assert "cifar-10-python.tar.gz" in message and "https://www.cs.toronto.edu/~kriz/" in message
    assert "ImageFolder" in message


def test_a_failed_cifar10_download_becomes_data_not_found(tmp_path, monkeypatch):
    def no_network(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torchvision.datasets.cifar, "download_and_extract_archive", no_network)
    with pytest.raises(DataNotFoundError, match="download failed.*no network") as raised:
        load_data("cifar10", root=tmp_path)
    assert isinstance(raised.value.__cause__, urllib.error.URLError)
    assert "cifar-10-python.tar.gz" in str(raised.value)


def test_an_unknown_name_lists_the_known_ones(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataNotFoundError) as raised:
        load_data("cifar-100")
    message = str(raised.value)
    assert "'cifar-100'" in message
    assert "'embedded'" in message and "'cifar10'" in message
    assert "path" in message and "train/<class>" in message


# Image folders

COLOURS = {"blue": (0, 0, 255), "green": (0, 255, 0), "red": (255, 0, 0)}


def write_image_folder(root, sizes=None, counts=(("train", 4), ("test", 2))):
    """Solid-colour images, one class per colour; ``sizes`` maps a file's path to its size."""
    sizes = sizes or {}
    for split, count in counts:
        for name, colour in COLOURS.items():
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(count):
                path = folder / f"{i}.png"
                Image.new("RGB", sizes.get(f"{split}/{name}/{i}.png", (8, 8)), colour).save(path)
    return root


def test_image_folder_loads_classes_labels_and_pixels(tmp_path):
    root = write_image_folder(tmp_path / "colours")
    # A JPEG and a grey image in the same folder: both come out as RGB.
    Image.new("RGB", (8, 8), (255, 0, 0)).save(root / "train" / "red" / "photo.jpg")
    Image.new("L", (8, 8), 255).save(root / "test" / "green" / "grey.png")

    data = load_data(root)

    assert data.name == "colours"
    assert data.classes == ["blue", "green", "red"]
    assert data.train_images.shape == (13, 3, 8, 8) and data.test_images.shape == (7, 3, 8, 8)
    assert data.train_images.dtype == torch.uint8 and data.train_labels.dtype == torch.int64
    assert torch.bincount(data.train_labels).tolist() == [4, 4, 5]
    assert (data.image_size, data.padding, data.flip) == (8, 1, True)
    white = (data.test_images == 255).flatten(1).all(dim=1)
    assert white.sum() == 1 and data.classes[data.test_labels[white]] == "green"
    images = torch.cat([data.train_images, data.test_images[~white]])
    labels = torch.cat([data.train_labels, data.test_labels[~white]])
    expected = torch.tensor([COLOURS[data.classes[label]] for label in labels], dtype=torch.float)
    # JPEG may shift a solid colour by a level or two; PNG keeps it exactly.
    assert torch.allclose(images.float().mean(dim=(2, 3)), expected, atol=3)


def test_image_folder_limit_and_missing_parts(tmp_path):
    root = write_image_folder(tmp_path / "colours")
    small = load_data(root, limit=5)
    assert len(small.train_labels) == 5 and len(small.test_labels) == 5

    with pytest.raises(
        DataNotFoundError, match="nothing' is neither a data set name.*train/<class>"
    ):
        load_data(tmp_path / "nothing")
    (tmp_path / "half" / "train" / "red").mkdir(parents=True)
    with pytest.raises(DataNotFoundError, match=f"No directory {tmp_path / 'half' / 'test'}"):
        load_data(tmp_path / "half")


def test_image_folder_with_mixed_sizes_needs_image_size(tmp_path):
    root = write_image_folder(tmp_path / "mixed", sizes={"train/green/2.png": (10, 12)})
    with pytest.raises(ValueError, match="8x8.*12x10.*image_size") as raised:
        load_data(root)
    assert "green" in str(raised.value)

    data = load_data(root, image_size=16)
    assert data.train_images.shape == (12, 3, 16, 16) and data.test_images.shape == (6, 3, 16, 16)
    assert data.padding == 2
    # Resizing a solid colour keeps it.
    green = data.train_images[data.train_labels == data.classes.index("green")]
    assert torch.equal(
        green, torch.tensor([0, 255, 0], dtype=torch.uint8).view(1, 3, 1, 1).expand_as(green)
    )
