"""One module per CLI command: ``configure(parser)`` and ``main(args) -> int``."""
