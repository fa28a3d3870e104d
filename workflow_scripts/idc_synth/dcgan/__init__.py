"""The DCGAN arm (Radford et al. 2016) for 50x50 RGB patches, per class or class-conditional.

``model`` holds the settings, the networks and their init, sampling (with standing batch-norm
statistics) and the generator's safetensors I/O; ``training`` holds the resumable, seeded
training loop, its checkpoints and its previews.
"""
