"""`python -m tui` is the `tfscope` command."""

from tui.cli import main

raise SystemExit(main())
