"""slmbench: prompt length vs quality, latency and energy of small language models on Jetson boards."""

__version__ = "0.1.0"
