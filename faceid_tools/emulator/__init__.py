"""The offline twin of the FaceID API (see ``docs/emulator.md``)."""
