"""Command line: ``python -m resnet_ref list`` and ``python -m resnet_ref train --model resnet20``.

``train`` writes ``history.json`` and ``checkpoint.pt`` into ``--out`` after every epoch, so an
interrupted run continues with the same command plus ``--resume``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch
from tqdm.auto import tqdm

import resnet_ref
from resnet_ref import UnknownModelError
from resnet_ref.data import load_data
from resnet_ref.training import COMPILE_MODES, CheckpointError, TrainConfig, train

PROGRAM = "python -m resnet_ref"

# Mistakes a user can make on the command line; anything else is a bug and keeps its traceback.
USER_ERRORS = (CheckpointError, ValueError, FileNotFoundError)


def main(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``) and return the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return args.command(args)
    except USER_ERRORS as error:
        message = " ".join(str(error).split())
        print(f"{PROGRAM}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            f"{PROGRAM}: interrupted; add --resume to continue from the last epoch", file=sys.stderr
        )
        return 130


def build_parser() -> argparse.ArgumentParser:
    """Return the parser for the ``list`` and ``train`` commands."""
    parser = argparse.ArgumentParser(
        prog=PROGRAM, description="Train and inspect the course's residual networks."
    )
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    listing = commands.add_parser("list", help="print the available model names")
    listing.set_defaults(command=list_command)

    training = commands.add_parser("train", help="train a model and save its history")
    training.set_defaults(command=train_command)
    training.add_argument("--model", required=True, help="model name, see the list command")
    training.add_argument(
        "--data",
        default="embedded",
        help="'embedded' (digits, no download), 'cifar10', or an ImageFolder directory",
    )
    training.add_argument("--data-root", help="where cifar10 is stored or downloaded to")
    training.add_argument("--limit", type=int, help="use at most this many images per split")
    training.add_argument("--epochs", type=int, default=10)
    training.add_argument("--batch-size", type=int, default=128)
    training.add_argument("--lr", type=float, default=0.1, help="peak learning rate")
    training.add_argument("--weight-decay", type=float, default=1e-4)
    training.add_argument("--schedule", choices=("cosine", "step"), default="cosine")
    training.add_argument("--warmup-epochs", type=float, default=0.0)
    training.add_argument("--label-smoothing", type=float, default=0.0)
    training.add_argument("--seed", type=int, default=0)
    training.add_argument("--device", help="cuda, mps or cpu (default: the fastest available)")
    training.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    training.add_argument(
        "--compile",
        default="auto",
        choices=[mode or "none" for mode in COMPILE_MODES],
        help="torch.compile mode; auto (the default) is reduce-overhead on CUDA, none elsewhere",
    )
    training.add_argument("--out", type=Path, help="output folder (default: runs/MODEL-DATA)")
    training.add_argument(
        "--resume", action="store_true", help="continue from the checkpoint in --out"
    )
    return parser


def list_command(args: argparse.Namespace) -> int:
    """Print one model name per line."""
    for name in resnet_ref.list_models():
        print(name)
    return 0


def train_command(args: argparse.Namespace) -> int:
    """Train the chosen model and report each epoch and the final test error."""
    # Checked before loading the data, which can take a while (CIFAR-10, an image folder).
    known = resnet_ref.list_models()
    if args.model not in known:
        raise UnknownModelError(f"unknown model {args.model!r}; known models: {', '.join(known)}")
    data = load_data(args.data, root=args.data_root, limit=args.limit)
    # The seed fixes the initial weights too, so that the same command trains the same network
    # (and every process started by torchrun starts from the same one).
    torch.manual_seed(args.seed)
    model = resnet_ref.create(args.model, num_classes=data.num_classes, in_channels=data.channels)
    out = args.out or Path("runs") / f"{args.model}-{data.name}"
    config = TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        weight_decay=args.weight_decay,
        schedule=args.schedule,
        warmup_epochs=args.warmup_epochs,
        label_smoothing=args.label_smoothing,
        seed=args.seed,
        device=args.device,
        compile=None if args.compile == "none" else args.compile,
        progress=not args.no_progress,
        checkpoint=out / "checkpoint.pt",
        history_path=out / "history.json",
        resume=args.resume,
    )
    # Under torchrun only the first process speaks (and writes the files, see train()).
    leader = int(os.environ.get("RANK", "0")) == 0
    parameters = sum(parameter.numel() for parameter in model.parameters())
    if leader:
        processes = int(os.environ.get("WORLD_SIZE", "1"))
        print(
            f"{args.model} ({parameters:,} parameters) on {data.name}: "
            f"{len(data.train_labels):,} training and {len(data.test_labels):,} test images"
            + (f", {processes} processes" if processes > 1 else "")
        )
    history = train(model, data, config, on_epoch=print_epoch)
    if leader:
        print(f"final test error {history[-1]['test_error']:.2%}; history and checkpoint in {out}")
    return 0


def print_epoch(entry: dict[str, float]) -> None:
    """Print one history entry as a line."""
    # tqdm.write keeps the line from tearing through a progress bar that is being drawn.
    tqdm.write(
        f"epoch {entry['epoch']:>3}  train loss {entry['train_loss']:.4f}  "
        f"train error {entry['train_error']:6.2%}  test loss {entry['test_loss']:.4f}  "
        f"test error {entry['test_error']:6.2%}  lr {entry['lr']:.4g}  {entry['seconds']:.1f}s"
    )


if __name__ == "__main__":
    sys.exit(main())
