"""Kernels of the MLP block."""

__all__ = ["linear_8x16_fp32", "linear_16x8_fp32", "relu_fp32"]
