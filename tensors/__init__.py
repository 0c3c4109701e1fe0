"""Tensor helpers below the front end and the verifier: collecting a model's tensors, comparing outputs."""
