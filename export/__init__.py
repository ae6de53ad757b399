"""ONNX export of LinguaLens models and a torch-free runtime encoder (`export.runtime.OnnxEncoder`)."""
