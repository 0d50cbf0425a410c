"""The gauntlet: a user's own client program run against every adverse scenario, graded
from the mock's journals (``nanobanana-mock gauntlet``; docs/gauntlet.md).

Layers: ``scenarios`` (data), ``analysis`` and ``flags`` (pure functions over journal
entries) import nothing that serves; ``recorder`` notes poll answers; ``runner`` starts
mocks and the client; ``report`` renders; ``cli`` parses options. Nothing is imported
here, so the ``nanobanana-mock`` command starts as fast as before.
"""
