"""One spider per source kind (``name`` = module name = ``sources.kind``); shared logic lives in ``board.py``."""
