"""Image data sets for the course: one factory, :func:`load_data`, for every source.

Three sources give the same :class:`ImageData`:

- ``"embedded"`` (the default): scikit-learn's bundled handwritten digits, 1,797 grey 8x8
  images resized to 16x16. No download, loads in a fraction of a second: what the book's
  cells and the autograder train on.
- ``"cifar10"``: CIFAR-10 (50,000 + 10,000 colour 32x32 images in 10 classes) through
  ``torchvision.datasets.CIFAR10``, downloaded once into ``~/.cache/resnet_ref/cifar10``.
- a path to an ImageFolder directory with ``train/<class>/<image>`` and ``test/<class>/<image>``,
  for instance a JPEG copy of CIFAR-10 for a machine without network.

Every split is held in memory as uint8 tensors (CIFAR-10 takes 180 MB this way), so a batch is
one indexing operation, and :meth:`ImageData.prepare` turns a uint8 batch into normalised floats
with the standard augmentation (random crop from a zero-padded image, horizontal flip) on
whatever device the batch lives, the GPU included.
"""

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Subset

DATA_SOURCES = ("embedded", "cifar10")

FOLDER_LAYOUT = "<path>/train/<class>/<image> and <path>/test/<class>/<image>, same classes in both"

CIFAR10_PAGE = "https://www.cs.toronto.edu/~kriz/cifar.html"


class DataNotFoundError(FileNotFoundError):
    """The data set's files are not where they should be (and could not be downloaded)."""


@dataclass
class ImageData:
    """A labelled image data set held in memory as uint8 tensors, with what training needs to know.

    Images are ``(N, C, H, W)`` uint8 tensors with values 0..255, labels ``(N,)`` int64 tensors.
    ``mean`` and ``std`` are per channel, on the 0..1 scale, computed from the training images.
    ``padding`` is the zero padding of the random crop (an eighth of the image size, 4 pixels
    for 32x32 images) and ``flip`` says whether a mirrored image keeps its label.
    """

    name: str
    train_images: torch.Tensor = field(repr=False)
    train_labels: torch.Tensor = field(repr=False)
    test_images: torch.Tensor = field(repr=False)
    test_labels: torch.Tensor = field(repr=False)
    classes: list[str]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    padding: int
    flip: bool
    source: str
    _on_device: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def num_classes(self) -> int:
        """How many classes the labels run over."""
        return len(self.classes)

    @property
    def channels(self) -> int:
        """How many colour channels each image has (1 for grey, 3 for RGB)."""
        return self.train_images.shape[1]

    @property
    def image_size(self) -> int | tuple[int, int]:
        """The side of the (square) images, or ``(height, width)`` if they are not square."""
        height, width = self.train_images.shape[2:]
        return height if height == width else (height, width)

    def loader(
        self,
        split: str,
        batch_size: int,
        shuffle: bool | None = None,
        seed: int = 0,
        device: torch.device | str | None = None,
    ) -> "Batches":
        """Batches of ``(uint8 images, int64 labels)`` from the ``"train"`` or ``"test"`` split.

        The training split is shuffled by default (in a new order every epoch, the same orders
        for the same ``seed``), the test split is not. With ``device`` the whole split is
        copied there once, so that batches need no copy from the host.
        """
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', not {split!r}")
        images, labels = getattr(self, f"{split}_images"), getattr(self, f"{split}_labels")
        if shuffle is None:
            shuffle = split == "train"
        return Batches(images, labels, batch_size, shuffle, seed, device)

    def prepare(
        self, images: torch.Tensor, train: bool, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Turn a uint8 batch into normalised float32 images, augmented if ``train``.

        Augmentation is the standard one for CIFAR (He et al., 2016): a random crop of the
        image padded with ``padding`` zero pixels on each side and, if ``flip``, a random
        horizontal flip. It runs on the batch's device, for the whole batch at once.
        The random draws come from ``generator`` (a CPU generator; torch's global one if None).
        """
        x = images.float() / 255
        if train:
            top, left, mirrored = self._draw_augmentation(len(x), generator, x.device)
            x = self._crop(x, top, left)
            if self.flip:
                x = torch.where(mirrored[:, None, None, None], x.flip(-1), x)
        mean, std = self._normalisation(x.device)
        return (x - mean) / std

    def _draw_augmentation(
        self, n: int, generator: torch.Generator | None, device: torch.device
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Each image's crop offsets (top, left) and whether to mirror it, on ``device``.

        The numbers are drawn on the CPU, so the same seed gives the same crops and flips whether
        the images are on the CPU or a GPU, and they travel to the GPU in one copy: every copy
        from ordinary memory makes the CPU wait until the GPU has caught up.
        """
        offsets = torch.randint(0, 2 * self.padding + 1, (2, n), generator=generator)
        if self.flip:
            mirrored = (torch.rand(n, generator=generator) < 0.5).long()
        else:  # drawing nothing keeps the random stream of data sets without flips as it was
            mirrored = torch.zeros(n, dtype=torch.long)
        draws = torch.cat([offsets, mirrored[None]]).to(device, non_blocking=True)
        return draws[0], draws[1], draws[2].bool()

    def _crop(self, x: torch.Tensor, top: torch.Tensor, left: torch.Tensor) -> torch.Tensor:
        """Cut each image at its own offset out of the zero-padded batch."""
        n, c, h, w = x.shape
        pad = self.padding
        padded = F.pad(x, (pad, pad, pad, pad))
        rows = top[:, None] + torch.arange(h, device=x.device)  # (N, H): rows kept per image
        cols = left[:, None] + torch.arange(w, device=x.device)  # (N, W)
        batch = torch.arange(n, device=x.device)[:, None, None, None]
        channel = torch.arange(c, device=x.device)[None, :, None, None]
        return padded[batch, channel, rows[:, None, :, None], cols[:, None, None, :]]

    def _normalisation(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """The per-channel mean and standard deviation as (C, 1, 1) tensors on ``device``."""
        # Kept per device, so that a training step does not copy them to the GPU every batch.
        if device not in self._on_device:
            shape = (-1, 1, 1)
            self._on_device[device] = (
                torch.tensor(self.mean).view(shape).to(device),
                torch.tensor(self.std).view(shape).to(device),
            )
        return self._on_device[device]


class Batches:
    """Iterate over ``(images, labels)`` batches of in-memory tensors; ``len()`` is the count."""

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        batch_size: int,
        shuffle: bool,
        seed: int = 0,
        device: torch.device | str | None = None,
    ) -> None:
        self.images = images.to(device) if device is not None else images
        self.labels = labels.to(device) if device is not None else labels
        self.batch_size = batch_size
        self.shuffle = shuffle
        # One generator for the loader's life: each epoch draws a new order, and the
        # sequence of orders is the same for the same seed.
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return math.ceil(len(self.labels) / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.labels)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        for index in order.to(self.labels.device).split(self.batch_size):
            yield self.images[index], self.labels[index]


def load_data(
    source: str | Path = "embedded",
    root: str | Path | None = None,
    download: bool = True,
    image_size: int | None = None,
    limit: int | None = None,
) -> ImageData:
    """Load a data set into memory: ``"embedded"``, ``"cifar10"`` or an ImageFolder directory.

    Args:
        source: one of :data:`DATA_SOURCES`, or the path of a directory holding
            ``train/<class>/<image>`` and ``test/<class>/<image>``.
        root: where CIFAR-10 is kept (default ``$RESNET_REF_DATA/cifar10``, where
            ``RESNET_REF_DATA`` defaults to ``~/.cache/resnet_ref``). Only CIFAR-10 uses it.
        download: whether CIFAR-10 may be downloaded (170 MB, once) if it is not in ``root``.
        image_size: resize every image to ``image_size`` x ``image_size`` (bilinear).
            The digits default to 16; the other sources keep their images' own size.
        limit: keep at most this many images per split, a fixed random choice (for quick runs).

    Raises:
        DataNotFoundError: the files are missing (the message says how to get them).
        ValueError: an ImageFolder's images differ in size and no ``image_size`` was given.
    """
    if source == "embedded":
        return _load_digits(image_size or 16, limit)
    if source == "cifar10":
        return _load_cifar10(root, download, image_size, limit)
    return _load_image_folder(Path(source).expanduser(), image_size, limit)


def _load_digits(image_size: int, limit: int | None) -> ImageData:
    """scikit-learn's 1,797 handwritten digits, resized, split 1,437 / 360 by class."""
    # Imported here, as are torchvision's data sets below: a grading kernel imports this
    # package and needs neither.
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    # The originals are intensities 0..16; rescale them to the 0..255 of every other source.
    pixels = (torch.from_numpy(digits.images)[:, None] * (255 / 16)).round().to(torch.uint8)
    images = _resize(pixels, image_size)
    labels = torch.from_numpy(digits.target).long()
    train, test = train_test_split(
        torch.arange(len(labels)), test_size=360, stratify=labels, random_state=0
    )
    train, test = train[_pick(len(train), limit)], test[_pick(len(test), limit)]
    return _image_data(
        "embedded",
        (images[train], labels[train]),
        (images[test], labels[test]),
        classes=[str(digit) for digit in range(10)],
        # A mirrored digit is a different symbol (or none at all), so no flips.
        flip=False,
        source=(
            "Handwritten digits bundled with scikit-learn (BSD-3), from the UCI Optical "
            "Recognition of Handwritten Digits data (CC BY 4.0): 1,797 grey 8x8 images resized "
            f"to {image_size}x{image_size}; {len(train):,} train / {len(test):,} test, "
            "split by class with seed 0."
        ),
    )


def _load_cifar10(
    root: str | Path | None, download: bool, image_size: int | None, limit: int | None
) -> ImageData:
    """CIFAR-10 through torchvision, turned into uint8 tensors in (N, C, H, W) layout."""
    import torchvision

    if root is None:
        data_home = os.environ.get("RESNET_REF_DATA", Path.home() / ".cache" / "resnet_ref")
        root = Path(data_home) / "cifar10"
    root = Path(root).expanduser()
    splits = []
    for train in (True, False):
        try:
            dataset = torchvision.datasets.CIFAR10(root, train=train, download=download)
        # torchvision raises RuntimeError for missing or corrupt files and OSError (URLError
        # and friends) for a failed download: both mean "not here", and the learner needs
        # to know how to get it, not torchvision's internals.
        except (OSError, RuntimeError) as error:
            raise DataNotFoundError(_cifar10_howto(root, download, error)) from error
        images = torch.from_numpy(dataset.data).permute(0, 3, 1, 2)  # stored as (N, H, W, C)
        labels = torch.tensor(dataset.targets)
        keep = _pick(len(labels), limit)
        splits.append((_resize(images[keep], image_size).contiguous(), labels[keep]))
    (train_images, _), (test_images, _) = splits
    size = train_images.shape[-1]
    return _image_data(
        "cifar10",
        *splits,
        classes=dataset.classes,
        flip=True,
        source=(
            f"CIFAR-10 (Krizhevsky, 2009; {CIFAR10_PAGE}), from {root}: "
            f"{len(train_images):,} train / {len(test_images):,} test {size}x{size} colour "
            "images in 10 classes; its authors state no licence."
        ),
    )


def _cifar10_howto(root: Path, download: bool, error: Exception) -> str:
    """The message for a missing CIFAR-10: why, and three ways to get it."""
    reason = "download=False" if not download else f"download failed: {error}"
    return (
        f"CIFAR-10 is not in {root} ({reason}). To get it, do one of these:\n"
        "  - run once with network access:\n"
        f"      python -c \"import resnet_ref; resnet_ref.load_data('cifar10', root='{root}')\"\n"
        f"  - download cifar-10-python.tar.gz from {CIFAR10_PAGE} and extract it into {root}\n"
        f"    (so that {root / 'cifar-10-batches-py' / 'data_batch_1'} exists);\n"
        "  - pass load_data the path of an ImageFolder copy of CIFAR-10, a directory with\n"
        "    train/<class>/<image> and test/<class>/<image>."
    )


def _load_image_folder(path: Path, image_size: int | None, limit: int | None) -> ImageData:
    """Every image under ``path/train/<class>/`` and ``path/test/<class>/``, as RGB tensors."""
    if not path.is_dir():
        known = ", ".join(repr(name) for name in DATA_SOURCES)
        raise DataNotFoundError(
            f"{str(path)!r} is neither a data set name ({known}) nor a directory. load_data "
            f"also takes the path of an ImageFolder directory laid out as {FOLDER_LAYOUT}."
        )
    for split in ("train", "test"):
        if not (path / split).is_dir():
            raise DataNotFoundError(
                f"No directory {path / split}. An image folder is laid out as {FOLDER_LAYOUT}."
            )
    splits, classes = [], {}
    for split in ("train", "test"):
        images, labels, paths, classes[split] = _read_images(path / split, limit)
        splits.append((_stack(images, paths, image_size), torch.tensor(labels)))
    if classes["train"] != classes["test"]:
        raise ValueError(
            f"{path / 'train'} and {path / 'test'} hold different classes: "
            f"{classes['train']} and {classes['test']}"
        )
    (train_images, _), (test_images, _) = splits
    height, width = train_images.shape[-2:]
    return _image_data(
        path.name,
        *splits,
        classes=classes["train"],
        # Photographs keep their label when mirrored; for images that do not (text, digits)
        # set flip=False afterwards with dataclasses.replace.
        flip=True,
        source=(
            f"Image folder {path}: {len(train_images):,} train / {len(test_images):,} test "
            f"{height}x{width} RGB images in {len(classes['train'])} classes; licence: that of "
            "the images' origin."
        ),
    )


def _read_images(folder: Path, limit: int | None) -> tuple[list, list, list, list[str]]:
    """Decode one split of an image folder: (HWC image arrays, labels, file paths, classes)."""
    from torchvision.datasets import ImageFolder

    dataset = ImageFolder(folder, transform=np.array)  # PIL decodes, converting to RGB
    keep = _pick(len(dataset), limit).tolist()
    # Worker processes decode in parallel. They hand back numpy arrays, which travel pickled;
    # tensors would each hold a shared-memory file handle, and 60,000 of them run out.
    batches = DataLoader(
        Subset(dataset, keep),
        batch_size=256,
        num_workers=min(8, torch.get_num_threads()),
        collate_fn=list,
    )
    images, labels = zip(*(pair for batch in batches for pair in batch), strict=True)
    paths = [dataset.samples[i][0] for i in keep]
    return list(images), list(labels), paths, dataset.classes


def _stack(images: list[np.ndarray], paths: list[str], image_size: int | None) -> torch.Tensor:
    """Stack (H, W, C) images into one (N, C, H, W) batch, resized if ``image_size`` is given."""
    if image_size is not None:
        return torch.cat([_resize(_to_batch(image), image_size) for image in images])
    for image, path in zip(images, paths, strict=True):
        if image.shape != images[0].shape:
            raise ValueError(
                f"Images differ in size: {paths[0]} is {_size(images[0])} but {path} is "
                f"{_size(image)}. Pass image_size to load_data to resize them all to one size."
            )
    return _to_batch(np.stack(images))


def _to_batch(images: np.ndarray) -> torch.Tensor:
    """One (H, W, C) image or a stack of them, as an (N, C, H, W) tensor."""
    batch = torch.from_numpy(images.reshape(-1, *images.shape[-3:]))
    return batch.permute(0, 3, 1, 2).contiguous()


def _size(image: np.ndarray) -> str:
    """An (H, W, C) image's size as ``HxW``."""
    return f"{image.shape[0]}x{image.shape[1]}"


def _resize(images: torch.Tensor, size: int | None) -> torch.Tensor:
    """Resize a uint8 batch (N, C, H, W) to ``size`` x ``size`` (bilinear, antialiased)."""
    if size is None or images.shape[-2:] == (size, size):
        return images
    # Antialiasing makes shrinking average the pixels it drops instead of skipping them.
    resized = F.interpolate(images.float(), size=(size, size), mode="bilinear", antialias=True)
    return resized.round().clamp(0, 255).to(torch.uint8)


def _pick(n: int, limit: int | None) -> torch.Tensor:
    """Indices of at most ``limit`` of ``n`` items: a fixed random choice, kept in order."""
    if limit is None or limit >= n:
        return torch.arange(n)
    # Random rather than the first `limit`: an ImageFolder lists its images class by class.
    return torch.randperm(n, generator=torch.Generator().manual_seed(0))[:limit].sort().values


def _image_data(
    name: str,
    train: tuple[torch.Tensor, torch.Tensor],
    test: tuple[torch.Tensor, torch.Tensor],
    classes: list[str],
    flip: bool,
    source: str,
) -> ImageData:
    """Assemble an :class:`ImageData`, computing what follows from the training images."""
    train_images, train_labels = train
    # One channel at a time keeps the float copy to a third of CIFAR-10's 600 MB.
    channels = train_images.unbind(1)
    stats = [torch.std_mean(channel.float() / 255, correction=0) for channel in channels]
    return ImageData(
        name=name,
        train_images=train_images,
        train_labels=train_labels.long(),
        test_images=test[0],
        test_labels=test[1].long(),
        classes=list(classes),
        mean=tuple(mean.item() for _, mean in stats),
        std=tuple(std.item() for std, _ in stats),
        padding=train_images.shape[-1] // 8,
        flip=flip,
        source=source,
    )
