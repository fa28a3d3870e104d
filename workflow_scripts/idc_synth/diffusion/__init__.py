"""The Stable Diffusion arm: latent diffusion trained from scratch, or LoRA on a local SD.

``settings`` holds every knob; ``scratch`` trains an AutoencoderKL then a class-conditional
latent UNet; ``pretrained`` fine-tunes a local Stable Diffusion pipeline with LoRA; both share
``training`` (accelerate loop, EMA, atomic resumable checkpoints) and ``pixels`` (patch <->
model-tensor resizing); ``sampling`` turns either saved model into uint8 50x50 patches.
"""
