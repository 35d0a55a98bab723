import gc

gc.disable()   # while the grader imports (as warm.py does): it lives as long as the command, so it is frozen
from .cli import main  # noqa: E402

gc.freeze()
gc.enable()
raise SystemExit(main())
