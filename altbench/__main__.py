"""``python -m altbench`` (also ``accelerate launch -m altbench run ...``)."""

from altbench.cli import main

main()
