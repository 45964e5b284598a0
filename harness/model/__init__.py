"""The model layer: encoders and their files, task heads, the one training loop, prediction."""
