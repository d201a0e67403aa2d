"""Build the ~100 MB Keras models of rows 2 and 8: ResNet50 (25.6 M parameters, untrained) as .keras and
.h5, and one with a 10-class head (row 8 diffs the two .keras).

Run by bench/data.py in a child process (`python bench/build_models.py FOLDER`): TensorFlow's import
stays out of the bench process.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(folder: Path) -> None:
    import keras

    folder.mkdir(parents=True, exist_ok=True)
    model = keras.applications.ResNet50(weights=None)
    model.save(folder / "resnet50.keras")
    model.save(folder / "resnet50.h5")  # Keras' legacy HDF5 format: still what many zoos hold
    keras.applications.ResNet50(weights=None, classes=10).save(folder / "resnet50_10.keras")  # row 8's pair


if __name__ == "__main__":
    main(Path(sys.argv[1]))
