"""scikit-learn's bundled handwritten digits (8x8), upsampled to LeNet's 32x32, split reproducibly."""

from __future__ import annotations

import numpy as np


def load_digits_32(seed: int = 0, test_fraction: float = 0.25):
    """(x_train, y_train, x_test, y_test): float32 images (N, 1, 32, 32) in [0, 1], int64 labels."""
    from sklearn.datasets import load_digits

    data = load_digits()
    images = data.images.astype(np.float32) / 16.0  # pixel values are 0..16
    images = np.kron(images, np.ones((4, 4), np.float32))[:, None]  # nearest upsample 8x8 -> 32x32
    labels = data.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(labels))
    n_test = int(len(labels) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    return images[train], labels[train], images[test], labels[test]
