"""netdef.quantization: explicit INT8/FP8 quantization (Q/DQ layers) with calibration computed on CPU.

calibration = calibrate(netdef.define(model, inputs), batches, method="entropy", cache="model.calib")
network = netdef.define(model, inputs, quantization=QuantConfig("int8", calibration))
"""

from netdef.quantization.calibration import METHODS, Calibration, calibrate
from netdef.quantization.emit import QUANT_DTYPES, QuantConfig

__all__ = ["METHODS", "QUANT_DTYPES", "Calibration", "QuantConfig", "calibrate"]
