"""Pull-time conversions of raw weights to ONNX, without PyTorch or TensorFlow.

Each converter takes the staging directory of a pull (see ``ModelSpec.convert``), reads the raw files the
sources delivered and writes the ONNX model that the pipelines load with ONNX Runtime.
"""
