"""Networks for the game (THEORY.md §9): architectures, training, tasks, weights on disk.

Needs the ``torch`` extra. Nothing here is imported by ``import defendability``; the
network class, attackers and defenders import these modules when first used.

- :mod:`.architecture`: :class:`Architecture` (MLP, small CNN) and its functional
  forward pass;
- :mod:`.training`: one network or k stacked networks trained at once;
- :mod:`.tasks` and :mod:`.loaders`: bundled digits, synthetic tasks, and MNIST IDX,
  CIFAR-10 binary and ``.npz`` files;
- :mod:`.weights`: safetensors files with the architecture in their metadata.
"""
