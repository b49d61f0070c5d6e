"""Training an appearance (ReID) model in PyTorch: the ONNX <-> PyTorch conversion, the PK sampler,
the losses and the training loop. Nothing here imports torch until a training job starts it."""
