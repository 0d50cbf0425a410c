"""The HTTP edge: ``exchange`` (one provider call, start to end), ``provider`` (the provider's
paths and handlers) and ``admin`` (the mock's own controls under ``/__mock/``), siblings over
one ``MockBackend``. ``mock_server.app`` wires them into an ASGI app."""
