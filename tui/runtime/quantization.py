"""Real values to a quantized tensor's integers and back, as TFLite does: real = (q - zero_point) * scale."""

from __future__ import annotations

from typing import Any

Quantization = tuple[float, int]
"""(scale, zero_point) of a per-tensor quantized integer tensor."""


def quantize(real: Any, quantization: Quantization, dtype: str) -> Any:
    """round(real / scale) + zero_point, halves away from zero (TFLite's rounding), clipped to the dtype."""
    import numpy as np

    scale, zero_point = quantization
    scaled = np.asarray(real, dtype=np.float64) / scale
    rounded = np.sign(scaled) * np.floor(np.abs(scaled) + 0.5)
    info = np.iinfo(np.dtype(dtype))
    return np.clip(rounded + zero_point, info.min, info.max).astype(dtype)


def dequantize(value: Any, quantization: Quantization) -> Any:
    import numpy as np

    scale, zero_point = quantization
    return ((np.asarray(value).astype(np.float64) - zero_point) * scale).astype(np.float32)


def representable(quantization: Quantization, dtype: str) -> tuple[float, float]:
    """The reals a quantized tensor can hold: its dtype's extremes, dequantized."""
    import numpy as np

    scale, zero_point = quantization
    info = np.iinfo(np.dtype(dtype))
    return (info.min - zero_point) * scale, (info.max - zero_point) * scale
