"""Trainer throughput against the usual DataLoader + torchvision transforms loop, same model and batch.

Both loops train a CIFAR ResNet-20 on CIFAR-10 with random crop (padding 4) and horizontal flip for
the same number of steps; the report is images per second and their ratio. A benchmark, not a test:
run it on an otherwise idle machine (``reprobook bench``).
"""

from __future__ import annotations

import torch

from . import data, latency, models, train


def timed_steps(model, batches, steps: int) -> float:
    """Images per second over ``steps`` SGD steps after one warm-up step."""
    first = next(iter(batches))[1]
    seconds = latency.sgd_step_seconds(model, batches, steps, warmup=1, lr=0.05)
    return len(first) / seconds.mean()


def tensor_batches(d: data.ImageData, batch_size: int, device: torch.device):
    """The reprobook trainer's input path: uint8 on the device, batched crop/flip, normalise."""
    x, y = d.x_train.to(device), d.y_train.to(device)
    inputs = train.model_inputs(d, device)
    g = torch.Generator().manual_seed(0)
    while True:
        order = torch.randperm(len(x), generator=g).to(device)
        for i in range(0, len(x) - batch_size + 1, batch_size):
            idx = order[i : i + batch_size]
            yield inputs(train.random_crop_flip(x[idx], 4, g)), y[idx]


def dataloader_batches(
    d: data.ImageData, batch_size: int, device: torch.device, workers: int
):
    """The textbook path: PIL images through torchvision transforms, one image at a time, in a DataLoader."""
    import torchvision.transforms as T
    from PIL import Image

    transform = T.Compose(
        [
            T.RandomCrop(32, padding=4),
            T.RandomHorizontalFlip(),
            T.ToTensor(),
            T.Normalize(d.mean, d.std),
        ]
    )
    images = d.x_train.permute(0, 2, 3, 1).numpy()

    class PILDataset(torch.utils.data.Dataset):
        def __len__(self):
            return len(images)

        def __getitem__(self, i):
            return transform(Image.fromarray(images[i])), int(d.y_train[i])

    loader = torch.utils.data.DataLoader(
        PILDataset(),
        batch_size=batch_size,
        shuffle=True,
        drop_last=True,
        num_workers=workers,
        persistent_workers=workers > 0,
    )
    while True:
        for x, y in loader:
            yield x.to(device), y.to(device)


def epoch_seconds(
    images: data.ImageData,
    device: torch.device,
    batch_size: int = 128,
    precision: str = "bf16",
) -> float:
    """Seconds of the second of two training epochs of a CIFAR ResNet-20 by :func:`train.fit` (the
    first warms up cuDNN and the allocator), crop+flip included, its test evaluation not: the
    number the `gpu` presets were sized with (goal: ≤ 2 s on an H100)."""
    torch.manual_seed(0)
    cfg = train.TrainConfig(
        epochs=2, batch_size=batch_size, augment=True, precision=precision
    )
    model = models.CifarResNet(20, 16, in_channels=images.shape[0])
    history = train.fit(model, images, cfg, device=str(device), desc="epoch timing")
    return float(history.seconds.iloc[1] - history.seconds.iloc[0])


def main(
    steps: int = 20, batch_size: int = 128, workers: int = 1, epoch: bool = False
) -> int:
    device = train.pick_device()
    d = data.load("cifar10").subset(max(4 * batch_size * (steps + 1), 2048), 16, seed=0)
    rates = {}
    for name, batches in (
        ("reprobook trainer", tensor_batches(d, batch_size, device)),
        (
            f"DataLoader + torchvision ({workers} worker)",
            dataloader_batches(d, batch_size, device, workers),
        ),
    ):
        torch.manual_seed(0)
        model = models.CifarResNet(20, 16).to(device)
        rates[name] = timed_steps(model, batches, steps)
        print(f"{name:<40} {rates[name]:8.1f} images/s")
    ours, theirs = rates.values()
    print(
        f"ratio (reprobook / DataLoader): {ours / theirs:.2f}x  "
        f"[ResNet-20, batch {batch_size}, {steps} steps, {device}, {torch.get_num_threads()} threads]"
    )
    if epoch:  # two CIFAR-10 epochs: 257 s on 2 AVX2 cores (2026-12-06), not yet timed on a GPU
        full = data.load("cifar10")
        # train.autocast's "bf16": autocast on CUDA, fp32 on the CPU
        arithmetic = "bf16 autocast" if device.type == "cuda" else "fp32"
        print(
            f"one ResNet-20 epoch (50,000 images, 32 px, batch {batch_size}, {arithmetic}): "
            f"{epoch_seconds(full, device, batch_size):.2f} s on {device}"
        )
    return 0
