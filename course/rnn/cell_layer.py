"""`CellLayer`: a `ScanRNN` over one of our cells, built from `units` like Keras' layers."""

from __future__ import annotations

from typing import Any

import keras

from course.rnn.cell_base import CELL_ARGS, RecurrentCell
from course.rnn.layer import ScanRNN

USE_CUDNN_VALUES = ("auto", True, False)


class CellLayer(ScanRNN):
    """A `ScanRNN` over one cell class, built from `units` like Keras' layers.

    Subclasses set `cell_class`. Cell arguments (activation, initialisers,
    regularizers, constraints, dropout, seed, ...) are accepted inline and
    appear inline in `get_config`, as in Keras, so a config moves both ways
    between a scan layer and its Keras twin. The layer's `dtype` and
    `trainable` reach the cell, as in Keras.
    """

    cell_class: type[RecurrentCell] = RecurrentCell
    has_cudnn_option = False  # Keras' GRU and LSTM take `use_cudnn`; SimpleRNN does not.

    def __init__(
        self,
        units: int,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        zero_output_for_mask: bool = False,
        **kwargs: Any,
    ) -> None:
        cell_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in CELL_ARGS}
        kwargs.pop("cell", None)
        use_cudnn = kwargs.pop("use_cudnn", "auto") if self.has_cudnn_option else None
        if self.has_cudnn_option and use_cudnn not in USE_CUDNN_VALUES:
            raise ValueError(f"`use_cudnn` must be one of {USE_CUDNN_VALUES}; got {use_cudnn!r}.")
        unknown = sorted(set(kwargs) - LAYER_ARGS)
        if unknown:
            raise ValueError(
                f"{type(self).__qualname__} does not support the argument(s) {unknown}; it takes the "
                f"arguments of keras.layers.{type(self).__name__}."
            )
        cell = self.cell_class(
            units,
            dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True),
            **cell_kwargs,
        )
        super().__init__(
            cell,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            zero_output_for_mask=zero_output_for_mask,
            **kwargs,
        )
        if self.has_cudnn_option:
            self.use_cudnn = use_cudnn

    @property
    def units(self) -> int:
        return self.cell.units

    def __getattr__(self, name: str) -> Any:
        # Cell arguments read as layer attributes (layer.dropout, layer.kernel_regularizer, ...), as in Keras.
        if name in CELL_ARGS and "cell" in self.__dict__:
            return getattr(self.__dict__["cell"], name)
        raise AttributeError(f"{type(self).__qualname__!r} object has no attribute {name!r}")

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("cell")
        cell_config = self.cell.get_config()
        for key in ("name", "trainable", "dtype"):
            cell_config.pop(key, None)
        config.update(cell_config)
        config["activity_regularizer"] = keras.regularizers.serialize(self.activity_regularizer)
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> "CellLayer":
        return cls(**config)


# Layer arguments a CellLayer passes on to `keras.layers.Layer` / `ScanRNN`.
LAYER_ARGS = {
    "name",
    "dtype",
    "trainable",
    "activity_regularizer",
    "stateful",
    "unroll",
    "input_shape",
    "batch_input_shape",
    "batch_size",
    "input_dim",
    "autocast",
}
