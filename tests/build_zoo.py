"""Build the test zoo: every model shape the readers must handle, made by TF/Keras now.

Run as `python tests/build_zoo.py DEST` (a child process, so the emulator can preload DEST).
Layout under DEST (object names in the `zoo` bucket):
  keras/{functional,sequential,nested,subclassed}.keras, keras/{functional,sequential,nested}.h5
  keras/wide.keras, keras/wide.h5          ~60 MB, for the bytes-read budgets
  saved/exported/          model.export() of the functional model
  saved/multi/             tf.saved_model.save, several signatures, string and int64 inputs
  saved/tf1/               a TF1 builder SavedModel with two tag-sets
  ckpt/keras/              tf.train.Checkpoint of a Keras model and its Adam optimizer
  ckpt/slots/              a tf.Module trained with a TF1 Adam: real slot variables
  tflite/float.tflite, tflite/int8.tflite
  keras2/saved/, keras2/model.h5   a tf_keras (Keras 2) model: SavedModel with keras_metadata.pb, and .h5
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tui.runtime.demo_models import write_checkpoint, write_text_model  # noqa: E402


def functional() -> keras.Model:
    inputs = keras.Input((16,), name="features")
    a = keras.layers.Dense(8, activation="relu", name="branch_a")(inputs)
    b = keras.layers.Dense(8, activation="tanh", name="branch_b")(inputs)
    merged = keras.layers.Concatenate(name="merge")([a, b])
    normed = keras.layers.BatchNormalization(name="norm")(merged)
    outputs = keras.layers.Dense(3, name="logits")(normed)
    return keras.Model(inputs, outputs, name="functional")


def sequential() -> keras.Model:
    return keras.Sequential(
        [keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, name="conv"), keras.layers.Flatten(name="flat"),
         keras.layers.Dense(5, name="out")],
        name="sequential",
    )  # fmt: skip


def nested() -> keras.Model:
    inner_in = keras.Input((6,), name="inner_in")
    inner = keras.Model(inner_in, keras.layers.Dense(4, name="inner_dense")(inner_in), name="encoder")
    inputs = keras.Input((6,), name="x")
    outputs = keras.layers.Dense(2, name="head")(inner(inputs))
    return keras.Model(inputs, outputs, name="nested")


@keras.saving.register_keras_serializable(package="zoo")
class Subclassed(keras.Model):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.hidden = keras.layers.Dense(7, name="hidden")
        self.out = keras.layers.Dense(2, name="out")

    def call(self, x: object) -> object:
        return self.out(self.hidden(x))


def wide() -> keras.Model:
    """About 60 MB: big enough that a header read is a small fraction of the file."""
    inputs = keras.Input((3900,), name="x")
    return keras.Model(inputs, keras.layers.Dense(3900, name="big")(inputs), name="wide")


def tf1_two_tag_sets(dest: Path) -> None:
    with tf.Graph().as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, 3], name="x")
        w = tf.compat.v1.get_variable("w", [3, 2], initializer=tf.compat.v1.ones_initializer())
        y = tf.matmul(x, w, name="y")
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            builder = tf.compat.v1.saved_model.Builder(str(dest))
            sig = tf.compat.v1.saved_model.predict_signature_def({"x": x}, {"y": y})
            builder.add_meta_graph_and_variables(sess, ["serve"], signature_def_map={"serving_default": sig})
            builder.add_meta_graph(["train", "gpu"], signature_def_map={"train_sig": sig})
            builder.save()


def slot_checkpoint(dest: Path) -> None:
    """A TF-native optimizer keeps real slot variables ('m', 'v'), unlike Keras 3's."""
    module = tf.Module()
    module.w = tf.Variable(tf.ones([4, 3]), name="w")
    optimizer = tf.compat.v1.train.AdamOptimizer(0.1)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(module.w * 2.0)
    optimizer.apply_gradients([(tape.gradient(loss, module.w), module.w)])
    tf.train.Checkpoint(module=module, optimizer=optimizer).save(str(dest / "ckpt"))


def tflite_int8(saved_model: Path, dest: Path) -> None:
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model))
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    rng = np.random.default_rng(0)
    converter.representative_dataset = lambda: ([rng.random((1, 16), dtype=np.float32)] for _ in range(20))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    dest.write_bytes(converter.convert())


def keras2(root: Path) -> None:
    import tf_keras

    inputs = tf_keras.Input((10,), name="features")
    hidden = tf_keras.layers.Dense(6, activation="relu", name="hidden")(inputs)
    outputs = tf_keras.layers.Dense(2, name="scores")(tf_keras.layers.Dropout(0.1, name="drop")(hidden))
    model = tf_keras.Model(inputs, outputs, name="keras2")
    model.save(str(root / "keras2" / "saved"), save_format="tf")
    model.save(str(root / "keras2" / "model.h5"), save_format="h5")


def main(root: Path) -> None:
    keras.utils.set_random_seed(0)
    (root / "keras").mkdir(parents=True)
    models = {"functional": functional(), "sequential": sequential(), "nested": nested()}
    for name, model in models.items():
        model.save(root / "keras" / f"{name}.keras")
        model.save(root / "keras" / f"{name}.h5")
    sub = Subclassed()
    sub(np.zeros((1, 5), "float32"))
    sub.compile(optimizer="adam", loss="mse")
    sub.save(root / "keras" / "subclassed.keras")
    big = wide()
    big.save(root / "keras" / "wide.keras")
    big.save(root / "keras" / "wide.h5")
    models["functional"].export(str(root / "saved" / "exported"), verbose=False)
    write_text_model(root / "saved" / "multi")
    tf1_two_tag_sets(root / "saved" / "tf1")
    write_checkpoint(models["functional"], root / "ckpt" / "keras")
    slot_checkpoint(root / "ckpt" / "slots")
    (root / "tflite").mkdir()
    float_model = tf.lite.TFLiteConverter.from_saved_model(str(root / "saved" / "exported")).convert()
    (root / "tflite" / "float.tflite").write_bytes(float_model)
    tflite_int8(root / "saved" / "exported", root / "tflite" / "int8.tflite")
    keras2(root)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
