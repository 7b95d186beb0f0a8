"""Per-claim machinery: one subpackage per notebook, each with its ``preset.yml``.

A paper imports the spine (``reprobook.*``), never another paper; the spine never imports a paper.
"""
