"""Command groups of the ``tactful`` CLI that live outside ``tactful.cli`` (each has ``register``).

New groups go here rather than inside the stage they drive (docs: STYLE, "faces live inside the
stages"); the older groups beside their stages can move here over time.
"""
